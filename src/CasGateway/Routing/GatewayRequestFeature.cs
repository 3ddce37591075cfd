using CasGateway.Anchoring;
using CasGateway.Health;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// What every stage needs to know of a request before routing: its protocol family and the server component that
/// serves it. Set once, right after endpoint matching, by <see cref="GatewayRequestMiddleware"/>.
/// </summary>
public interface IGatewayRequestFeature
{
    /// <summary>The family of the matched route; null outside every family route (probes, admin, scrape, no route).</summary>
    ProtocolFamily? Family { get; }

    /// <summary>The component a drain or an Inactive state applies to: the family's, else the whole node.</summary>
    ServerComponent Component { get; }
}

/// <summary>One shared instance per family (and one for "no family"): setting the feature allocates nothing.</summary>
public sealed class GatewayRequestFeature : IGatewayRequestFeature
{
    private static readonly GatewayRequestFeature NoFamily = new(null);
    private static readonly GatewayRequestFeature[] ByFamily = Array.ConvertAll(Enum.GetValues<ProtocolFamily>(), f => new GatewayRequestFeature(f));

    private GatewayRequestFeature(ProtocolFamily? family)
    {
        Family = family;
        Component = family is { } f ? ServerComponents.Of(f) : ServerComponent.ServerWideOffline;
    }

    public ProtocolFamily? Family { get; }

    public ServerComponent Component { get; }

    /// <summary>The feature of a request that matched <paramref name="endpoint"/> (a family route carries its family).</summary>
    public static GatewayRequestFeature For(Endpoint? endpoint)
        => endpoint?.Metadata.GetMetadata<RouteModel>() is { } route && RouteMetadata.TryGetFamily(route.Config, out var family)
            ? ByFamily[(int)family]
            : NoFamily;
}

/// <summary>Sets <see cref="IGatewayRequestFeature"/> from the matched endpoint, first thing after routing.</summary>
public sealed class GatewayRequestMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        context.Features.Set<IGatewayRequestFeature>(GatewayRequestFeature.For(context.GetEndpoint()));
        return next(context);
    }
}
