using CasGateway.Configuration;
using CasGateway.Listeners;
using CasGateway.Mail.Core;
using CasGateway.Mail.Imap;
using CasGateway.Mail.Pop;
using CasGateway.Mail.Smtp;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail;

public static class MailStage
{
    /// <summary>
    /// IMAP, POP3 and SMTP front doors on Kestrel connection handlers: per protocol an implicit-TLS and a STARTTLS
    /// listener, and for SMTP an inbound one (each optional) on the gateway's address, with the same certificates and connection middleware as HTTPS, and
    /// the same health and drain (<see cref="MailDrain"/>).
    /// </summary>
    public static WebApplicationBuilder AddMailProxies(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<MailOptions>(MailOptions.Section);
        services.AddSingleton<MailListeners>();
        services.AddSingleton<BearerTokenValidator>();
        services.AddSingleton<MailAuthenticator>();
        services.AddSingleton<MailBackendConnector>();
        services.AddSingleton<MailProxy>();
        services.AddSingleton<MailDrain>();
        services.AddSingleton<PreLoginConnections>();
        services.AddSingleton<MailSessionServices>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<MailOptions>>().Value;
            var address = kestrel.ApplicationServices.GetRequiredService<IOptions<ListenerOptions>>().Value.Address;
            ListenersStage.TryParseAddress(address, out var ip);
            var listeners = kestrel.ApplicationServices.GetRequiredService<MailListeners>();

            void Listen(MailProtocol protocol, int? port, bool implicitTls, bool inbound = false)
            {
                if (port is null)
                {
                    return;
                }
                kestrel.Listen(ip!, port.Value, listen =>
                {
                    // The same TLS and connection middleware as HTTPS: PROXY protocol, and the registry a drained node closes.
                    var https = ListenersStage.ClientListener(listen, ClientListenerKind.Mail);
                    if (implicitTls)
                    {
                        listen.UseHttps(https);
                    }
                    switch (protocol)
                    {
                        case MailProtocol.Imap:
                            listen.UseConnectionHandler<ImapConnectionHandler>();
                            break;
                        case MailProtocol.Pop3:
                            listen.UseConnectionHandler<PopConnectionHandler>();
                            break;
                        case MailProtocol.Smtp when inbound:
                            listen.UseConnectionHandler<SmtpInboundConnectionHandler>();
                            break;
                        default:
                            listen.UseConnectionHandler<SmtpSubmissionConnectionHandler>();
                            break;
                    }
                    listeners.Add(new MailListener(protocol, implicitTls, listen, inbound));
                });
            }

            Listen(MailProtocol.Imap, options.Imap.ImplicitTlsPort, implicitTls: true);
            Listen(MailProtocol.Imap, options.Imap.StartTlsPort, implicitTls: false);
            Listen(MailProtocol.Pop3, options.Pop.ImplicitTlsPort, implicitTls: true);
            Listen(MailProtocol.Pop3, options.Pop.StartTlsPort, implicitTls: false);
            Listen(MailProtocol.Smtp, options.Smtp.SubmissionImplicitTlsPort, implicitTls: true);
            Listen(MailProtocol.Smtp, options.Smtp.SubmissionPort, implicitTls: false);
            Listen(MailProtocol.Smtp, options.Smtp.InboundPort, implicitTls: false, inbound: true);
        });
        return builder;
    }
}
