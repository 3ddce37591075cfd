using System.Diagnostics;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace CasGateway.Observability;

/// <summary>Marks, on every family route, when the backend request starts and when its response headers arrive.</summary>
internal sealed class ForwardTimingTransforms : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        context.AddRequestTransform(MarkSent);
        context.AddResponseTransform(MarkResponse);
    }

    private static ValueTask MarkSent(RequestTransformContext context)
    {
        if (context.HttpContext.Features.Get<RequestRecord>() is { } record)
        {
            record.BackendSent = Stopwatch.GetTimestamp();
        }
        return ValueTask.CompletedTask;
    }

    private static ValueTask MarkResponse(ResponseTransformContext context)
    {
        if (context.ProxyResponse is { } response && context.HttpContext.Features.Get<RequestRecord>() is { } record)
        {
            record.BackendFirstByte = Stopwatch.GetTimestamp();
            record.BackendStatus = (int)response.StatusCode;
        }
        return ValueTask.CompletedTask;
    }
}
