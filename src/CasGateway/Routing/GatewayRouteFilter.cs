using Yarp.ReverseProxy.Configuration;

namespace CasGateway.Routing;

/// <summary>
/// Points the family routes from appsettings at the mailbox servers when they omit <c>ClusterId</c>. What a route
/// must say (a known <c>Family</c>, a path, no other cluster) is checked with the rest of the configuration, by
/// <see cref="Configuration.GatewayConfigurationRules"/>: start-up, <c>validate</c> and the live-reload guard.
/// </summary>
public sealed class GatewayRouteFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => ValueTask.FromResult(cluster);

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
        => ValueTask.FromResult(route.ClusterId is null ? route with { ClusterId = RouteMetadata.MailboxCluster } : route);
}
