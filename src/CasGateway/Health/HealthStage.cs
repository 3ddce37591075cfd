using CasGateway.Configuration;
using CasGateway.Listeners;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

public static class HealthStage
{
    /// <summary>
    /// Health probes (dependency checks published by ASP.NET Core's health check publisher and kept in memory), component states with their state file, drain, the admin policy,
    /// the SIGTERM-draining lifetime and the optional plain-HTTP management port.
    /// </summary>
    public static WebApplicationBuilder AddHealth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<HealthOptions>(HealthOptions.Section);
        services.AddSingleton<ComponentStateStore>();
        services.AddHostedService<ComponentStateMetrics>();
        services.AddSingleton<LongLivedRequestRegistry>();
        services.AddSingleton<ClientConnectionRegistry>();
        services.AddSingleton<IClientListenerHook>(sp => sp.GetRequiredService<ClientConnectionRegistry>());
        services.AddSingleton<IClientListenerHook, AdminCertificateHook>();
        services.AddSingleton<DrainCoordinator>();
        services.AddSingleton<DependencyHealth>();
        services.AddSingleton<IHealthCheckPublisher>(sp => sp.GetRequiredService<DependencyHealth>());
        services.AddHostedService(sp => sp.GetRequiredService<DependencyHealth>());
        services.AddSingleton<HealthProbe>();
        services.AddHealthChecks()
            .AddCheck<LocatorHealthCheck>("locator")
            .AddCheck<BackendHealthCheck>("backends");
        services.AddOptions<HealthCheckPublisherOptions>().Configure<IOptions<HealthOptions>>((publisher, health) =>
        {
            // The first report is made as the gateway starts (DependencyHealth.StartAsync); the publisher goes on from there.
            publisher.Delay = health.Value.RefreshInterval;
            publisher.Period = health.Value.RefreshInterval;
        });
        services.AddSingleton<IAuthorizationHandler, HealthAdminHandler>();
        services.AddOptions<AuthorizationOptions>().Configure(AdminEndpoints.AddPolicy);
        services.AddSingleton<IHostLifetime, DrainingHostLifetime>();
        services.AddOptions<HostOptions>().Configure<IOptions<HealthOptions>>((host, health) => host.ShutdownTimeout = health.Value.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var health = kestrel.ApplicationServices.GetRequiredService<IOptions<HealthOptions>>().Value;
            if (health.ManagementPort is not { } port)
            {
                return;
            }
            var listeners = kestrel.ApplicationServices.GetRequiredService<IOptions<ListenerOptions>>().Value;
            ListenersStage.TryParseAddress(health.ManagementAddress ?? listeners.Address, out var address);
            kestrel.Listen(address!, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(next => connection =>
                {
                    connection.Features.Set(ManagementConnectionFeature.Instance);
                    return next(connection);
                });
            });
        });
        return builder;
    }

    /// <summary>The drain middleware (first, before authentication), the probe endpoints and the admin endpoint.</summary>
    public static WebApplication UseHealth(this WebApplication app)
    {
        app.UseMiddleware<HealthMiddleware>();
        HealthEndpoints.Map(app);
        AdminEndpoints.Map(app);
        return app;
    }
}
