using CasGateway.Anchoring;
using CasGateway.Routing;
using Yarp.ReverseProxy.Configuration;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// Gives the OWA and ECP routes the browser policy (Basic, Bearer or the browser session) unless a route names its
/// own; every other family keeps the fallback policy, so the session cookie never authenticates EWS, ActiveSync,
/// MAPI or the rest.
/// </summary>
internal sealed class BrowserRouteFilter : IProxyConfigFilter
{
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => ValueTask.FromResult(cluster);

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel)
        => ValueTask.FromResult(
            route.AuthorizationPolicy is null && RouteMetadata.TryGetFamily(route, out var family) && family is ProtocolFamily.Owa or ProtocolFamily.Ecp
                ? route with { AuthorizationPolicy = BrowserSession.Policy }
                : route);
}
