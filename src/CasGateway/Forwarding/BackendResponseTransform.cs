using CasGateway.BackendAuth;
using CasGateway.Location;
using CasGateway.Routing;
using Yarp.ReverseProxy.Transforms;

namespace CasGateway.Forwarding;

/// <summary>
/// Reads the backend's routing verdict. When the backend says the database is mounted elsewhere
/// (<c>X-DBMountedOnServer</c>) or it could not route (<c>X-BEServerRoutingError</c>), the cached location and
/// the cookie entry are dropped so the next request resolves afresh; otherwise the cookie learns the route.
/// </summary>
public sealed partial class BackendResponseTransform(
    BackendCookie cookie,
    MailboxLocationCache locations,
    ILogger<BackendResponseTransform> logger)
{
    public ValueTask ApplyAsync(ResponseTransformContext context)
    {
        var http = context.HttpContext;
        if (context.ProxyResponse is not { } response || http.Features.Get<RoutingDecision>() is not { Anchor: { } anchor } decision)
        {
            return ValueTask.CompletedTask;
        }
        var mountedElsewhere = response.Headers.TryGetValues(GatewayHeaders.DbMountedOnServer, out var mounted);
        var routingError = response.Headers.Contains(GatewayHeaders.BackendRoutingError);
        if (mountedElsewhere || routingError)
        {
            var target = decision.Target!;
            if (target.Database is { } database)
            {
                locations.InvalidateDatabase(database);
            }
            locations.InvalidateMailbox(target.MailboxGuid);
            cookie.Write(http.Response, decision.CookiePath, decision.CookieEntries, upsert: null, remove: anchor.Address);
            http.Response.Headers.Remove(GatewayHeaders.DbMountedOnServer);
            http.Response.Headers.Remove(GatewayHeaders.BackendRoutingError);
            http.Response.Headers.Remove(GatewayHeaders.BackendException);
            var verdict = mounted?.FirstOrDefault();
            LogStale(logger, anchor.Address, target.Server.Fqdn, verdict ?? "routing error", http.TraceIdentifier);
            if (decision.RetriesLeft > 0)
            {
                // Nothing of this answer reaches the client: the routing step retries on the server named.
                context.SuppressResponseBody = true;
                decision.RetryRequested = true;
                decision.RetryOnServer = ServerOf(verdict);
            }
            return ValueTask.CompletedTask;
        }
        if (decision.CookieUpdate is { } update && response.IsSuccessStatusCode)
        {
            cookie.Write(http.Response, decision.CookiePath, decision.CookieEntries, update, remove: null);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The server in <c>&lt;db guid&gt;~&lt;server fqdn&gt;~&lt;version&gt;</c>, if well formed.</summary>
    private static string? ServerOf(string? verdict)
    {
        var parts = verdict?.Split('~');
        return parts is { Length: 3 } && Uri.CheckHostName(parts[1]) == UriHostNameType.Dns ? parts[1] : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backend {Server} no longer serves {Anchor} ({Verdict}); cache and cookie entry dropped (request {RequestId})")]
    private static partial void LogStale(ILogger logger, string anchor, string server, string verdict, string requestId);
}
