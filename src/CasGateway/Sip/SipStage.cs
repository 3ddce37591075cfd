using CasGateway.Configuration;
using CasGateway.Listeners;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace CasGateway.Sip;

public static class SipStage
{
    /// <summary>
    /// The Unified Messaging call router (<c>Gateway:Sip</c>, off unless a port is set): SIP over TCP and TLS on Kestrel
    /// connection handlers, with the gateway's certificates and connection middleware (PROXY protocol, drain), and
    /// over UDP on a socket of its own. Calls are redirected to the mailbox's server; see <see cref="SipRouter"/>.
    /// </summary>
    public static WebApplicationBuilder AddSip(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<SipOptions>(SipOptions.Section);
        services.AddSingleton<SipListeners>();
        services.AddSingleton<SipMetrics>();
        services.AddSingleton<SipRouter>();
        services.AddSingleton<SipService>();
        var udp = builder.Configuration.GetSection(SipOptions.Section)[nameof(SipOptions.UdpPort)];
        if (!string.IsNullOrEmpty(udp))
        {
            services.AddHostedService<SipUdpListener>();
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<SipOptions>>().Value;
            var address = kestrel.ApplicationServices.GetRequiredService<IOptions<ListenerOptions>>().Value.Address;
            ListenersStage.TryParseAddress(address, out var ip);
            var listeners = kestrel.ApplicationServices.GetRequiredService<SipListeners>();

            void Listen(SipTransport transport, int? port)
            {
                if (port is null)
                {
                    return;
                }
                kestrel.Listen(ip!, port.Value, listen =>
                {
                    var https = ListenersStage.ClientListener(listen, ClientListenerKind.Sip);
                    if (options.PeerCertificateThumbprints.Count > 0)
                    {
                        // Any certificate is taken here; the router checks its thumbprint against the peer list.
                        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        https.ClientCertificateValidation = (_, _, _) => true;
                    }
                    if (transport == SipTransport.Tls)
                    {
                        listen.UseHttps(https);
                    }
                    listen.UseConnectionHandler<SipConnectionHandler>();
                    listeners.Add(transport, listen);
                });
            }

            Listen(SipTransport.Tcp, options.TcpPort);
            Listen(SipTransport.Tls, options.TlsPort);
        });
        return builder;
    }
}
