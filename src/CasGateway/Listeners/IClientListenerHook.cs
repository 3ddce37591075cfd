using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace CasGateway.Listeners;

/// <summary>Which kind of client listener a hook is configuring.</summary>
public enum ClientListenerKind
{
    /// <summary>The HTTPS listener (HTTP/1.1 and HTTP/2).</summary>
    Http,

    /// <summary>An IMAP or POP3 listener (implicit TLS or STARTTLS).</summary>
    Mail,

    /// <summary>A SIP listener of the call router (TCP or TLS); the peer speaks first, as over HTTP.</summary>
    Sip,
}

/// <summary>
/// Lets another stage add connection middleware to the client listeners, ahead of TLS, or adjust their TLS settings.
/// Hooks run in registration order; the first registered sees the connection first.
/// </summary>
public interface IClientListenerHook
{
    void Configure(ListenOptions listen, HttpsConnectionAdapterOptions https, ClientListenerKind kind);
}
