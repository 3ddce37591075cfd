using CasGateway.Configuration;
using Microsoft.AspNetCore.Builder;

namespace CasGateway.Routing;

public static class RoutingStage
{
    /// <summary>The planner and its decision table, the proxy-pipeline steps that execute and retry plans, and <c>explain</c>.</summary>
    public static WebApplicationBuilder AddRouting(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SiteRoutingOptions>(SiteRoutingOptions.Section);
        builder.Services.AddSingleton<RoutingRules>();
        builder.Services.AddSingleton<RoutePlanner>();
        builder.Services.AddSingleton<RequestRouter>();
        builder.Services.AddSingleton<RetryStep>();
        builder.Services.AddSingleton<ProxyStep>();
        builder.Services.AddSingleton<RouteExplainer>();
        return builder;
    }

    /// <summary>Sets <see cref="IGatewayRequestFeature"/> (family, component) for every later stage: first, right after endpoint matching.</summary>
    public static WebApplication UseGatewayRequest(this WebApplication app)
    {
        app.UseMiddleware<GatewayRequestMiddleware>();
        return app;
    }

    /// <summary>
    /// <c>POST /admin/explain</c> (admins only): the routing plan for a described request, without forwarding it.
    /// The described request is matched against this app's own endpoints, so routes match exactly as for real.
    /// </summary>
    public static WebApplication MapExplain(this WebApplication app)
    {
        var matching = new ApplicationBuilder(app.Services);
        matching.UseRouting();
        // Matching only: the endpoint found is read by the explainer, never run.
        matching.Run(static _ => Task.CompletedTask);
        matching.UseEndpoints(endpoints =>
        {
            foreach (var source in ((IEndpointRouteBuilder)app).DataSources)
            {
                endpoints.DataSources.Add(source);
            }
        });
        app.Services.GetRequiredService<RouteExplainer>().MatchWith(matching.Build());

        app.MapPost("/admin/explain", (ExplainRequest request, RouteExplainer explainer, CancellationToken cancellationToken)
            => explainer.ExplainAsync(request, cancellationToken)).RequireAuthorization(Health.HealthAdminRequirement.Policy);
        return app;
    }
}
