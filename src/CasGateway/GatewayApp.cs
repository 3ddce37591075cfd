using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Autodiscover;
using CasGateway.Authentication.Browser;
using CasGateway.Configuration;
using CasGateway.Demo;
using CasGateway.Forwarding;
using CasGateway.Health;
using CasGateway.Listeners;
using CasGateway.Location;
using CasGateway.Observability;
using CasGateway.Routing;
using CasGateway.Mail;
using CasGateway.Scale;
using CasGateway.Sip;
using CasGateway.Throttling;

namespace CasGateway;

/// <summary>The gateway host: each stage of the request path registers itself, in request order.</summary>
public static class GatewayApp
{
    /// <exception cref="GatewayConfigurationException">The configuration has problems; every one is listed.</exception>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var problems = GatewayConfiguration.Check(builder.Configuration);
        if (problems.Count > 0)
        {
            throw new GatewayConfigurationException(problems);
        }
        var reloads = new ConfigurationReloadLog();
        GuardedJsonConfigurationSource.Install(builder.Configuration, args, reloads);
        builder.Services.AddSingleton(reloads);
        builder.AddObservability();
        builder.Services.AddValidatedOptions<GatewayOptions>(GatewayOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddDemo();
        builder.AddListeners();
        builder.AddGatewayAuthentication();
        builder.AddAnchoring();
        builder.AddKeyRing();
        builder.AddLocation();
        builder.AddThrottling();
        builder.AddRouting();
        builder.AddAutodiscover();
        builder.AddForwarding();
        builder.AddHealth();
        builder.AddMailProxies();
        builder.AddSip();
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        try
        {
            app.Services.GetRequiredService<ConfigurationReloadLog>().Attach(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CasGateway.Configuration"));
            app.UseGatewayRequest();
            app.UseClientAddresses();
            app.UseProtocolLog();
            app.UseHealth();
            app.UseAuthentication();
            app.UseAuthorization();
            app.UseThrottling();
            app.UseAutodiscover();
            app.MapBrowserSignIn();
            app.MapMailboxRoutes();
            app.MapExplain();
            app.MapMetrics();
            return app;
        }
        catch
        {
            // E.g. a directory that does not load when the routes first ask for servers: whatever the host already
            // created (file watchers, loggers) stops with it, so a caller that goes on (explain, tests) keeps no leftovers.
            ((IDisposable)app).Dispose();
            throw;
        }
    }
}
