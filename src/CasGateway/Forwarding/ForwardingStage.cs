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
            .Validate(o => IsKey(o.Identity.SigningKey),
                $"{BackendOptions.Section}:Identity:SigningKey must be a base64 key of at least 32 bytes.");
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<BackendRequestTransform>();
        services.AddSingleton<BackendResponseTransform>();
        services.AddSingleton<IProxyConfigProvider, MailboxServerConfigProvider>();
        services.AddSingleton<IForwarderHttpClientFactory, BackendChannelFactory>();
        services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddConfigFilter<GatewayRouteFilter>()
            .AddTransforms<GatewayTransformProvider>();
        return builder;
    }

    /// <summary>
    /// Family routes: authenticate, then plan (anchor → cookie or locator → decision table) and retry
    /// (<see cref="RetryStep"/>), execute the plan (<see cref="ProxyStep"/>), forward to the chosen server.
    /// </summary>
    public static WebApplication MapMailboxRoutes(this WebApplication app)
    {
        app.MapReverseProxy(pipeline =>
        {
            var services = pipeline.ApplicationServices;
            pipeline.Use(services.GetRequiredService<RetryStep>().InvokeAsync);
            pipeline.Use(services.GetRequiredService<ProxyStep>().InvokeAsync);
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
