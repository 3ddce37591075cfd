using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CasGateway.Sip;

/// <summary>Where the call router listens; logs it once the host has started.</summary>
public sealed partial class SipListeners
{
    private ListenOptions? _tcp;
    private ListenOptions? _tls;

    public SipListeners(IHostApplicationLifetime lifetime, ILogger<SipListeners> logger)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (transport, endPoint) in (ReadOnlySpan<(SipTransport, IPEndPoint?)>)[(SipTransport.Tcp, Tcp), (SipTransport.Tls, Tls), (SipTransport.Udp, Udp)])
            {
                if (endPoint is not null)
                {
                    LogListening(logger, transport, endPoint);
                }
            }
        });
    }

    /// <summary>The bound TCP listener (the real port once Kestrel has started), if configured.</summary>
    public IPEndPoint? Tcp => _tcp?.IPEndPoint;

    public IPEndPoint? Tls => _tls?.IPEndPoint;

    public IPEndPoint? Udp { get; internal set; }

    internal void Add(SipTransport transport, ListenOptions listen)
    {
        if (transport == SipTransport.Tls)
        {
            _tls = listen;
        }
        else
        {
            _tcp = listen;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP call router listening over {Transport} on {EndPoint}")]
    private static partial void LogListening(ILogger logger, SipTransport transport, IPEndPoint endPoint);
}
