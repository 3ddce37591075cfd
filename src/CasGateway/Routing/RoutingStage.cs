using CasGateway.Configuration;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

public static class RoutingStage
{
    /// <summary>The decision table (proxy here / across / redirect / reject) and the proxy-pipeline step that applies it.</summary>
    public static WebApplicationBuilder AddRouting(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SiteRoutingOptions>(SiteRoutingOptions.Section);
        builder.Services.AddSingleton<RoutingRules>();
        builder.Services.AddSingleton<MailboxRoutingStep>();
        builder.Services.AddSingleton<RouteExplainer>();
        return builder;
    }

    /// <summary>
    /// <c>POST /admin/explain</c> (admins only): the routing decision for a described request, without forwarding it.
    /// </summary>
    public static WebApplication MapExplain(this WebApplication app)
    {
        app.MapPost("/admin/explain", async (ExplainRequest request, RouteExplainer explainer, IProxyStateLookup proxy, CancellationToken cancellationToken) =>
        {
            proxy.TryGetCluster(RouteMetadata.MailboxCluster, out var cluster);
            var answer = await explainer.ExplainAsync(request, server => IsHealthy(cluster, server), cancellationToken);
            return Results.Json(answer);
        }).RequireAuthorization(Health.HealthAdminRequirement.Policy);
        return app;
    }

    private static bool IsHealthy(ClusterState? cluster, Location.MailboxServer server)
        => cluster is not null
            && cluster.Destinations.TryGetValue(server.Fqdn, out var destination)
            && destination.Health.Active != DestinationHealth.Unhealthy
            && destination.Health.Passive != DestinationHealth.Unhealthy;
}
