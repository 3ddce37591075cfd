using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Configuration;
using CasGateway.Demo;
using CasGateway.Forwarding;
using CasGateway.Listeners;
using CasGateway.Location;
using CasGateway.Mail;
using Serilog;

namespace CasGateway;

/// <summary>The gateway host: each stage of the request path registers itself, in request order.</summary>
public static class GatewayApp
{
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .Enrich.FromLogContext()
            .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture),
            preserveStaticLogger: true);
        builder.Services.AddValidatedOptions<GatewayOptions>(GatewayOptions.Section);
        builder.AddDemo();
        builder.AddListeners();
        builder.AddGatewayAuthentication();
        builder.AddAnchoring();
        builder.AddLocation();
        builder.AddForwarding();
        builder.AddMailProxies();
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMailboxRoutes();
        return app;
    }
}
