using System.Net;
using System.Security.Authentication;
using CasGateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

public static class ListenersStage
{
    /// <summary>HTTPS on the configured port, TLS 1.2/1.3 only, certificates chosen per handshake (SNI).</summary>
    public static WebApplicationBuilder AddListeners(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ListenerOptions>(ListenerOptions.Section);
        builder.Services.AddSingleton<ServerCertificateStore>();
        builder.Services.AddClientAddresses();
        StrictFraming.Enable(builder.Services);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<ListenerOptions>>().Value;
            kestrel.AddServerHeader = false;
            // RPC over HTTP declares bodies up to 1 GB; bodies stream, so no size needs holding in memory.
            kestrel.Limits.MaxRequestBodySize = null;
            // Kerberos and large bearer tokens make big headers (IIS in front of Exchange allows 64 KB per field):
            // accept them, so an over-long routing hint is refused by the anchor stage with a 400 that says why.
            kestrel.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalSize;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = options.MaxRequestHeadersTotalSize;
            TryParseAddress(options.Address, out var address);
            kestrel.Listen(address!, options.HttpsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(ClientListener(listen, ClientListenerKind.Http));
            });
        });
        return builder;
    }

    /// <summary>
    /// What every client listener (HTTPS, mail, SIP) shares: TLS 1.2/1.3 with the certificate chosen per SNI host, and
    /// the connection middleware the listener hooks add (PROXY protocol, the connection registry a drain closes). The
    /// caller adds TLS to the listener (implicit TLS) or keeps the options for STARTTLS.
    /// </summary>
    public static HttpsConnectionAdapterOptions ClientListener(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen, ClientListenerKind kind)
    {
        var services = listen.ApplicationServices;
        var certificates = services.GetRequiredService<ServerCertificateStore>();
        var https = new HttpsConnectionAdapterOptions
        {
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ServerCertificateSelector = (_, host) => certificates.Select(host),
            // With one certificate for every name, hand the handshake its prebuilt context (current after reloads)
            // instead of the selector's certificate, which the TLS stack would turn into a new context each time.
            OnAuthenticate = (_, tls) =>
            {
                if (certificates.SingleContext is { } context)
                {
                    tls.ServerCertificateSelectionCallback = null;
                    tls.ServerCertificate = null;
                    tls.ServerCertificateContext = context;
                }
            },
        };
        foreach (var hook in services.GetServices<IClientListenerHook>())
        {
            hook.Configure(listen, https, kind);
        }
        return https;
    }

    internal static bool TryParseAddress(string text, out IPAddress? address)
    {
        address = text.ToLowerInvariant() switch
        {
            "any" => IPAddress.IPv6Any,
            "loopback" => IPAddress.Loopback,
            _ => IPAddress.TryParse(text, out var parsed) ? parsed : null,
        };
        return address is not null;
    }
}
