using CasGateway.Routing;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace CasGateway.Forwarding;

/// <summary>Applies the gateway's request shaping to every family route.</summary>
public sealed class GatewayTransformProvider(BackendRequestTransform request, BackendResponseTransform response) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var forwardCredentials = RouteMetadata.ForwardsClientCredentials(context.Route);
        context.AddRequestTransform(transform => request.ApplyAsync(transform, forwardCredentials));
        context.AddResponseTransform(response.ApplyAsync);
    }
}
