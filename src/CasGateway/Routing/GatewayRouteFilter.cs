using CasGateway.Anchoring;
using Yarp.ReverseProxy.Configuration;

namespace CasGateway.Routing;

/// <summary>
/// Checks the family routes from appsettings: each names a known <c>Family</c> and forwards to the mailbox servers
/// (the cluster is filled in when omitted). A bad route fails start-up, or is rejected on reload.
/// </summary>
public sealed class GatewayRouteFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => ValueTask.FromResult(cluster);

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
    {
        if (!RouteMetadata.TryGetFamily(route, out _))
        {
            throw new InvalidOperationException(
                $"ReverseProxy:Routes:{route.RouteId}:Metadata:Family: '{route.Metadata?.GetValueOrDefault(RouteMetadata.Family)}' is not one of {string.Join(", ", Enum.GetNames<ProtocolFamily>())}.");
        }
        if (route.ClusterId is null)
        {
            return ValueTask.FromResult(route with { ClusterId = RouteMetadata.MailboxCluster });
        }
        if (route.ClusterId != RouteMetadata.MailboxCluster)
        {
            throw new InvalidOperationException(
                $"ReverseProxy:Routes:{route.RouteId}:ClusterId: '{route.ClusterId}' must be '{RouteMetadata.MailboxCluster}' (or omitted): mailbox servers come from the directory.");
        }
        return ValueTask.FromResult(route);
    }
}
