using CasGateway.Configuration;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

/// <summary>
/// Who the client is behind a balancer: the PROXY protocol from trusted balancers (connection level) and
/// <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> from trusted HTTP proxies (request level). Nobody else is believed.
/// </summary>
public static class ClientAddresses
{
    public static IServiceCollection AddClientAddresses(this IServiceCollection services)
    {
        services.AddValidatedOptions<ClientAddressOptions>(ListenerOptions.Section);
        services.AddSingleton<IClientListenerHook, ProxyProtocolMiddleware>();
        return services;
    }

    /// <summary>
    /// Honours <c>X-Forwarded-*</c> only from <c>Gateway:Listeners:TrustedProxies</c>; with none configured the
    /// headers are ignored here and the forwarder replaces the client's copies with the socket's address.
    /// </summary>
    public static WebApplication UseClientAddresses(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ClientAddressOptions>>().Value;
        if (options.TrustedProxies.Count == 0)
        {
            return app;
        }
        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            // Walk back through every trusted hop; stop at the first address that is not one.
            ForwardLimit = null,
        };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var network in ClientAddressOptions.ParseNetworks(options.TrustedProxies))
        {
            forwarded.KnownIPNetworks.Add(network);
        }
        app.UseForwardedHeaders(forwarded);
        return app;
    }
}
