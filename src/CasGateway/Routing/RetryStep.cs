using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Forwarding;
using CasGateway.Observability;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// The outermost proxy-pipeline step: plans the request, then runs the rest of the pipeline (<see cref="ProxyStep"/>,
/// load balancing, the forwarder) once per plan. When the backend's verdict says the route was wrong — the
/// database is mounted elsewhere, it could not route, or it was never reached — the stale route is dropped and the
/// request is planned again and replayed, at most <see cref="BackendRetryOptions.MaxRetries"/> times and only when
/// its body can be replayed (none, or small and buffered here before the first attempt).
/// </summary>
public sealed partial class RetryStep(
    AnchorResolver anchors,
    RequestRouter router,
    IOptions<BackendOptions> backend,
    GatewayMetrics metrics,
    ILogger<RetryStep> logger)
{
    private readonly BackendRetryOptions _retry = backend.Value.Retry;

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (context.Features.Get<IGatewayRequestFeature>()?.Family is not { } family)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "NoFamily", "Not a protocol family this gateway serves.");
            return;
        }
        var proxy = context.GetReverseProxyFeature();
        var health = new ServerHealth(proxy.AllDestinations);
        var facts = RouteFacts.From(context.Request, family, anchors, context.User);
        var routing = new RoutePlanFeature(await router.PlanAsync(facts, context.Request, health, context.RequestAborted));
        context.Features.Set(routing);
        if (!routing.Plan.CanRetry)
        {
            await next();
            return;
        }
        routing.RetriesLeft = await CanReplayAsync(context) ? _retry.MaxRetries : 0;
        var rechecked = false;
        while (true)
        {
            var plan = routing.Plan;
            var server = plan.Server!;
            if (!rechecked && health.Find(server.Fqdn) is { } destination && ServerHealth.IsMarkedUnhealthy(destination))
            {
                // Marked unhealthy: look again, in case the active copy moved. If the directory still names the
                // same server it is tried anyway: there is nowhere else to go, and its breaker fails fast if dead.
                rechecked = true;
                router.Forget(plan);
                routing.Plan = await router.ReplanAsync(facts, plan, null, health, context.RequestAborted);
                if (!routing.Plan.CanRetry)
                {
                    await next();
                    return;
                }
                continue;
            }
            await next();
            var verdict = BackendVerdict.Of(context, routing.Verdict);
            if (!verdict.RouteFailed)
            {
                return;
            }
            var unreachable = verdict.Kind == BackendVerdictKind.NeverReached;
            var retrying = routing.RetriesLeft > 0 && !context.Response.HasStarted;
            if (!unreachable || retrying)
            {
                // A stale answer always drops the cached route; an unreachable server only when trying elsewhere.
                router.Forget(plan);
            }
            if (!retrying)
            {
                if (unreachable && !context.Response.HasStarted)
                {
                    context.Response.Clear();
                    await GatewayResponses.ServerUnavailableAsync(context, server);
                }
                return;
            }
            if (unreachable)
            {
                await Task.Delay(_retry.ConnectFailureDelay, context.RequestAborted);
            }
            routing.RetriesLeft--;
            routing.RetryCount++;
            metrics.RecordRetry(family, unreachable ? "Unreachable" : "MountedElsewhere");
            var retry = await router.ReplanAsync(facts, plan, verdict.Server, health, context.RequestAborted);
            ResetForRetry(context, routing, retry);
            if (!retry.CanRetry)
            {
                await next();
                return;
            }
            LogRetry(logger, plan.Anchor!.Value.Address, server.Fqdn, retry.Server!.Fqdn, routing.RetryCount, context.TraceIdentifier);
        }
    }

    private static void ResetForRetry(HttpContext context, RoutePlanFeature routing, RoutePlan retry)
    {
        context.Response.Clear();
        context.Features.Set<IForwarderErrorFeature>(null);
        if (context.Request.Body.CanSeek)
        {
            context.Request.Body.Position = 0;
        }
        routing.Verdict = BackendVerdict.Answered;
        routing.Plan = retry;
    }

    /// <summary>
    /// A request can be replayed when it has no body, or a declared body small enough to buffer — which is then
    /// read in full before the first attempt. Larger and chunked bodies stream and are never retried.
    /// </summary>
    private async Task<bool> CanReplayAsync(HttpContext context)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            return true;
        }
        if (request.ContentLength is not { } length || length > _retry.MaxBufferedBodyBytes)
        {
            return false;
        }
        request.EnableBuffering(_retry.MaxBufferedBodyBytes, _retry.MaxBufferedBodyBytes);
        await request.Body.DrainAsync(context.RequestAborted);
        request.Body.Position = 0;
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retry {RetryCount} for {Anchor}: {From} → {To} (request {RequestId})")]
    private static partial void LogRetry(ILogger logger, string anchor, string from, string to, int retryCount, string requestId);
}
