using CasGateway.Configuration;
using CasGateway.Routing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Forwarding;

public static class ForwardingStage
{
    /// <summary>
    /// YARP with the family routes from <c>ReverseProxy</c> in appsettings, the mailbox servers from the locator,
    /// the pooled mutual-TLS channel and the identity transforms.
    /// </summary>
    public static WebApplicationBuilder AddForwarding(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<BackendOptions>(BackendOptions.Section)
            .Validate(o => o.Identity.Algorithm != IdentitySigningAlgorithm.HmacSha256 || IsKey(o.Identity.SigningKey),
                $"{BackendOptions.Section}:Identity:SigningKey must be a base64 key of at least 32 bytes.")
            .Validate(o => o.Identity.Algorithm != IdentitySigningAlgorithm.EcdsaP256 || !string.IsNullOrEmpty(o.Identity.PrivateKeyPath),
                $"{BackendOptions.Section}:Identity:PrivateKeyPath is required (a PEM ECDSA P-256 private key).");
        services.AddSingleton<IdentityTokens>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ClientInputGuard>();
        services.AddSingleton<BackendRequestTransform>();
        services.AddSingleton<Yarp.ReverseProxy.Health.IPassiveHealthCheckPolicy, ClientErrorTolerantHealthPolicy>();
        services.AddSingleton<BackendResponseTransform>();
        services.AddSingleton<IProxyConfigProvider, MailboxServerConfigProvider>();
        services.AddSingleton<IForwarderHttpClientFactory, BackendChannelFactory>();
        services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<GatewayRouteFilter>()
            .AddTransforms<GatewayTransformProvider>();
        return builder;
    }

    /// <summary>Family routes: authenticate, then anchor → locate → forward to the chosen server.</summary>
    public static WebApplication MapMailboxRoutes(this WebApplication app)
    {
        app.MapReverseProxy(pipeline =>
        {
            var guard = pipeline.ApplicationServices.GetRequiredService<ClientInputGuard>();
            var step = pipeline.ApplicationServices.GetRequiredService<MailboxRoutingStep>();
            pipeline.Use(guard.InvokeAsync);
            pipeline.Use(step.InvokeAsync);
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }

    private static bool IsKey(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var length) && length >= 32;
    }
}
