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
        services.AddValidatedOptions<BackendOptions>(BackendOptions.Section);
        services.AddSingleton<IdentityTokens>();
        services.AddSingleton<ClientInputGuard>();
        services.AddSingleton<BackendRequestTransform>();
        services.AddSingleton<Yarp.ReverseProxy.Health.IPassiveHealthCheckPolicy, ClientErrorTolerantHealthPolicy>();
        services.AddSingleton<BackendResponseTransform>();
        services.AddSingleton<MailboxServerConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<MailboxServerConfigProvider>());
        services.AddSingleton<IConfigChangeListener>(sp => sp.GetRequiredService<MailboxServerConfigProvider>());
        services.AddHostedService<ActiveProbeStart>();
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
            // Client bytes are checked before anything is planned or sent: a bad one is the client's 400.
            pipeline.Use(services.GetRequiredService<ClientInputGuard>().InvokeAsync);
            pipeline.Use(services.GetRequiredService<RetryStep>().InvokeAsync);
            pipeline.Use(services.GetRequiredService<ProxyStep>().InvokeAsync);
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return app;
    }
}
