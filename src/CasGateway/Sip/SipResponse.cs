using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace CasGateway.Sip;

/// <summary>How a request reached the router; names the <c>transport</c> parameter of redirects.</summary>
public enum SipTransport
{
    Udp,
    Tcp,
    Tls,
}

/// <summary>The router's answer to one request.</summary>
internal sealed record SipAnswer(int Status, string Reason)
{
    /// <summary>The redirect target (<c>Contact</c> of a 3xx).</summary>
    public string? Contact { get; init; }

    public bool WithAllow { get; init; }

    public int? RetryAfterSeconds { get; init; }

    /// <summary>For the protocol log: the called party the answer is about, its mailbox and server.</summary>
    public string? Called { get; init; }

    public string? Mailbox { get; init; }

    public string? Server { get; init; }

    /// <summary>Why the router answered so, when the status alone does not say (logged, never sent).</summary>
    public string? Detail { get; init; }
}

/// <summary>Writes responses the way RFC 3261 §8.2.6 asks of a stateless UAS.</summary>
internal static class SipResponse
{
    public const string Allow = "INVITE, ACK, CANCEL, OPTIONS";

    // One key per process: the To tag of a retransmitted request's answer is the same, and no state is kept.
    private static readonly byte[] TagKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// The response bytes: every <c>Via</c> in order (the top one stamped with <c>received</c>/<c>rport</c> on UDP,
    /// RFC 3261 §18.2.1 and RFC 3581), <c>From</c>, <c>To</c> (with a tag when it had none), <c>Call-ID</c> and
    /// <c>CSeq</c> as received, then the answer's own headers and <c>Content-Length: 0</c>.
    /// </summary>
    public static byte[] Build(SipRequest request, SipAnswer answer, SipTransport transport, IPEndPoint? peer)
    {
        var text = new StringBuilder(512);
        text.Append("SIP/2.0 ").Append(answer.Status).Append(' ').Append(answer.Reason).Append("\r\n");
        var first = true;
        foreach (var via in request.All("Via"))
        {
            text.Append("Via: ").Append(first && transport == SipTransport.Udp && peer is not null ? Stamp(via, peer) : via).Append("\r\n");
            first = false;
        }
        text.Append("From: ").Append(request.First("From")).Append("\r\n");
        var to = request.First("To")!;
        text.Append("To: ").Append(to);
        if (!HasTag(to))
        {
            text.Append(";tag=").Append(TagFor(request));
        }
        text.Append("\r\n");
        text.Append("Call-ID: ").Append(request.First("Call-ID")).Append("\r\n");
        text.Append("CSeq: ").Append(request.First("CSeq")).Append("\r\n");
        if (answer.Contact is not null)
        {
            text.Append("Contact: ").Append(answer.Contact).Append("\r\n");
        }
        if (answer.WithAllow)
        {
            text.Append("Allow: ").Append(Allow).Append("\r\n");
        }
        if (answer.RetryAfterSeconds is { } retry)
        {
            text.Append("Retry-After: ").Append(retry).Append("\r\n");
        }
        text.Append("Server: CasGateway\r\nContent-Length: 0\r\n\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Whether a To/From value carries a <c>tag</c> parameter (outside its URI).</summary>
    internal static bool HasTag(string value)
    {
        var close = value.LastIndexOf('>');
        var parameters = close >= 0 ? value[(close + 1)..] : value;
        return parameters.Split(';').Skip(1).Any(p => p.TrimStart().StartsWith("tag=", StringComparison.OrdinalIgnoreCase));
    }

    private static string TagFor(SipRequest request)
    {
        var seed = string.Join('\n', request.First("Call-ID"), request.First("From"), request.First("CSeq"), request.First("Via"));
        return Convert.ToHexStringLower(HMACSHA256.HashData(TagKey, Encoding.UTF8.GetBytes(seed)).AsSpan(0, 8));
    }

    /// <summary>The top Via with the source address (<c>received</c>) and port (<c>rport</c>, when asked for).</summary>
    private static string Stamp(string via, IPEndPoint peer)
    {
        // Only the first value of a comma-separated Via line is the top one.
        var values = SipAddresses.SplitList(via).ToList();
        var top = values[0];
        var parameters = top.Split(';');
        var address = peer.Address.IsIPv4MappedToIPv6 ? peer.Address.MapToIPv4() : peer.Address;
        var builder = new StringBuilder(parameters[0]);
        var hasReceived = false;
        foreach (var parameter in parameters.Skip(1))
        {
            var name = parameter.Split('=')[0].Trim();
            if (string.Equals(name, "rport", StringComparison.OrdinalIgnoreCase))
            {
                builder.Append(";rport=").Append(peer.Port);
            }
            else if (string.Equals(name, "received", StringComparison.OrdinalIgnoreCase))
            {
                hasReceived = true;
                builder.Append(";received=").Append(address);
            }
            else
            {
                builder.Append(';').Append(parameter);
            }
        }
        if (!hasReceived)
        {
            builder.Append(";received=").Append(address);
        }
        values[0] = builder.ToString();
        return string.Join(',', values);
    }
}
