using System.Net;
using CasGateway.Mail.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CasGateway.Mail;

/// <summary>One configured mail listener; <paramref name="Inbound"/> marks SMTP's listener for other organisations' mail.</summary>
public sealed record MailListener(MailProtocol Protocol, bool ImplicitTls, ListenOptions Options, bool Inbound = false)
{
    /// <summary>The bound address (the real port once Kestrel has started, also when 0 was configured).</summary>
    public IPEndPoint EndPoint => Options.IPEndPoint!;
}

/// <summary>The IMAP, POP3 and SMTP listeners of this gateway; logs where they listen once the host has started.</summary>
public sealed class MailListeners
{
    private readonly List<MailListener> _listeners = [];

    public MailListeners(IHostApplicationLifetime lifetime, ILogger<MailListeners> logger)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var listener in _listeners)
            {
                logger.LogInformation("{Protocol} listening on {EndPoint} ({Tls})", listener.Protocol, listener.EndPoint,
                    listener.Inbound ? "inbound, STARTTLS" : listener.ImplicitTls ? "implicit TLS" : "STARTTLS");
            }
        });
    }

    /// <summary>The listener for a protocol and TLS mode (SMTP: submission, or inbound); throws when it is not configured.</summary>
    public IPEndPoint EndPointOf(MailProtocol protocol, bool implicitTls, bool inbound = false)
        => _listeners.Single(l => l.Protocol == protocol && l.ImplicitTls == implicitTls && l.Inbound == inbound).EndPoint;

    internal void Add(MailListener listener) => _listeners.Add(listener);
}
