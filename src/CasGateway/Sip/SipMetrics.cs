using System.Diagnostics.Metrics;
using CasGateway.Observability;

namespace CasGateway.Sip;

/// <summary>The call router's instruments, on the gateway's meter.</summary>
public sealed class SipMetrics
{
    private static readonly HashSet<string> KnownMethods =
        ["INVITE", "ACK", "CANCEL", "OPTIONS", "BYE", "REGISTER", "SUBSCRIBE", "NOTIFY", "PRACK", "UPDATE", "INFO", "REFER", "MESSAGE", "PUBLISH"];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _malformed;

    public SipMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(GatewayMetrics.MeterName);
        _requests = meter.CreateCounter<long>("casgateway.sip.requests", "{request}", "SIP requests answered (or absorbed, status 0) by method, transport and status.");
        _refused = meter.CreateCounter<long>("casgateway.sip.peer_refusals", "{message}", "SIP messages from addresses (or TLS certificates) that are not configured peers: refused with 403 or dropped.");
        _malformed = meter.CreateCounter<long>("casgateway.sip.malformed", "{message}", "SIP messages refused as malformed or too large (answered 400/513 or dropped).");
    }

    public void Request(string method, SipTransport transport, int status)
        => _requests.Add(1, new("method", KnownMethods.Contains(method) ? method : "other"), new("transport", Transport(transport)), new("status", status));

    public void PeerRefused(SipTransport transport) => _refused.Add(1, new KeyValuePair<string, object?>("transport", Transport(transport)));

    public void Malformed(SipTransport transport) => _malformed.Add(1, new KeyValuePair<string, object?>("transport", Transport(transport)));

    private static string Transport(SipTransport transport) => transport switch
    {
        SipTransport.Udp => "udp",
        SipTransport.Tcp => "tcp",
        _ => "tls",
    };
}
