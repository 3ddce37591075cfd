using CasGateway.Anchoring;
using CasGateway.BackendAuth;
using CasGateway.Location;
using CasGateway.Routing;
using Yarp.ReverseProxy.Transforms;

namespace CasGateway.Forwarding;

/// <summary>
/// Reads the backend's routing verdict for the retry step. When the backend says the database is mounted
/// elsewhere (<c>X-DBMountedOnServer</c>) or it could not route (<c>X-BEServerRoutingError</c>), the cookie entry is
/// dropped, the verdict headers are not passed on, and — when a retry will follow — the answer's body is not sent;
/// the retry step drops the cached route. Otherwise the cookie learns the route.
/// </summary>
public sealed partial class BackendResponseTransform(BackendCookie cookie, ILogger<BackendResponseTransform> logger)
{
    public ValueTask ApplyAsync(ResponseTransformContext context)
    {
        var http = context.HttpContext;
        if (context.ProxyResponse is not { } response || http.Features.Get<RoutePlanFeature>() is not { Plan: { Anchor: { } anchor } plan } routing)
        {
            return ValueTask.CompletedTask;
        }
        var verdict = BackendVerdict.FromResponse(response);
        if (verdict.RouteFailed)
        {
            routing.Verdict = verdict;
            cookie.Write(http.Response, CookiePath(http), plan.CookieEntries, upsert: null, remove: anchor.Address);
            http.Response.Headers.Remove(GatewayHeaders.DbMountedOnServer);
            http.Response.Headers.Remove(GatewayHeaders.BackendRoutingError);
            http.Response.Headers.Remove(GatewayHeaders.BackendException);
            LogStale(logger, anchor.Address, plan.Server?.Fqdn, verdict.Detail, http.TraceIdentifier);
            // Nothing of this answer reaches the client when the retry step tries again.
            context.SuppressResponseBody = routing.RetriesLeft > 0;
            return ValueTask.CompletedTask;
        }
        if (response.IsSuccessStatusCode && CookieUpdate(plan, anchor) is { } update)
        {
            cookie.Write(http.Response, CookiePath(http), plan.CookieEntries, update, remove: null);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The entry the response writes: a followed affinity entry slides; a followed server entry is left as it is; a
    /// located (or retargeted) route is remembered.
    /// </summary>
    private BackendCookieEntry? CookieUpdate(RoutePlan plan, AnchorMailbox anchor) => plan.CookieEntry is { } followed
        ? (followed.Affinity ? cookie.Renew(followed) : null)
        : plan.Server is { } server && plan.MailboxAddress is { } address
            ? cookie.Create(anchor, server.Fqdn, plan.Database ?? "", address, plan.MailboxGuid, plan.Affinity)
            : null;

    /// <summary>The backend cookie is scoped to the family's path, e.g. <c>/owa</c>.</summary>
    private static string CookiePath(HttpContext context) => "/" + AnchorHints.Segment(context.Request.Path.Value ?? "", 0);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend {Server} no longer serves {Anchor} ({Verdict}); cookie entry dropped (request {RequestId})")]
    private static partial void LogStale(ILogger logger, string anchor, string? server, string? verdict, string requestId);
}
