using CasGateway.Listeners;
using CasGateway.Observability;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail.Core;

/// <summary>What every IMAP and POP3 session needs from the gateway, in one place.</summary>
public sealed class MailSessionServices(
    IOptionsMonitor<MailOptions> options,
    MailAuthenticator authenticator,
    MailProxy proxy,
    MailDrain drain,
    ServerCertificateStore certificates,
    PreLoginConnections preLogin,
    GatewayMetrics metrics)
{
    /// <summary>The settings a new session runs with (changes apply to later sessions).</summary>
    public MailOptions Options => options.CurrentValue;

    public MailAuthenticator Authenticator => authenticator;

    public MailProxy Proxy => proxy;

    public MailDrain Drain => drain;

    public ServerCertificateStore Certificates => certificates;

    public PreLoginConnections PreLogin => preLogin;

    public GatewayMetrics Metrics => metrics;
}
