using System.Diagnostics;
using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Forwarding;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using CasGateway.Observability;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// The proxy-pipeline step between authentication and forwarding: anchor → (backend cookie | cache → locator) →
/// keep only the destination of the server holding the active copy. Everything that cannot be routed is answered
/// here, before any backend is contacted.
/// </summary>
public sealed partial class MailboxRoutingStep(
    AnchorResolver anchors,
    MailboxLocationCache locations,
    BackendCookie cookie,
    RoutingRules rules,
    IOptions<GatewayOptions> gateway,
    IOptions<BackendOptions> backend,
    GatewayMetrics metrics,
    ILogger<MailboxRoutingStep> logger)
{
    public const string PreferServerAffinityHeader = "X-PreferServerAffinity";

    private static readonly TimeSpan LocatorRetryAfter = TimeSpan.FromSeconds(5);
    private readonly string? _site = gateway.Value.Site;
    private readonly BackendRetryOptions _retry = backend.Value.Retry;

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.GetReverseProxyFeature();
        if (!RouteMetadata.TryGetFamily(proxy.Route.Config, out var family))
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "NoFamily", "Not a protocol family this gateway serves.");
            return;
        }
        var decision = new RoutingDecision
        {
            Family = family,
            CallerAddress = GatewayClaims.AddressOf(context.User),
            CallerMailboxGuid = GatewayClaims.MailboxGuidOf(context.User),
            CookiePath = "/" + AnchorHints.Segment(context.Request.Path.Value ?? "", 0),
        };
        context.Features.Set(decision);

        var outcome = anchors.Resolve(context.Request, family);
        decision.HintSource = outcome.HintSource;
        DestinationState? destination;
        switch (outcome.Status)
        {
            case AnchorStatus.BadRequest:
                await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "BadAnchor", outcome.Problem!);
                return;
            case AnchorStatus.NotFound:
                await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "NoAnchor", outcome.Problem!);
                return;
            case AnchorStatus.AnyServer:
                proxy.AvailableDestinations = SiteDestinations(proxy.AvailableDestinations);
                if (proxy.AvailableDestinations.Count == 0)
                {
                    await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "NoHealthyServer",
                        "No healthy mailbox server in this site.", LocatorRetryAfter);
                    return;
                }
                await next();
                return;
            case AnchorStatus.Server:
                if (locations.FindServer(outcome.Server) is not { } server)
                {
                    await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "UnknownServer", $"'{outcome.Server}' is not a known server.");
                    return;
                }
                decision.Target = new RouteTarget(server, null, null, Guid.Empty);
                destination = FindDestination(proxy.AllDestinations, server.Fqdn);
                break;
            default:
                if (!await LocateMailboxAsync(context, decision, outcome, proxy.AllDestinations))
                {
                    return;
                }
                destination = FindDestination(proxy.AllDestinations, decision.Target!.Server.Fqdn);
                break;
        }
        if (decision.Anchor is null)
        {
            if (destination is null)
            {
                await ServerNotReadyAsync(context, decision);
                return;
            }
            proxy.AvailableDestinations = destination;
            await next();
            return;
        }
        await ForwardWithRetriesAsync(context, proxy, decision, destination, next);
    }

    /// <summary>
    /// Forwards; when the backend says the database is mounted elsewhere, or the server cannot be reached, drops
    /// the connection before answering, drops the stale route and tries again on the server named or re-located — at most <see cref="BackendRetryOptions.MaxRetries"/> times, and only when the request
    /// body can be replayed (none, or small and buffered). A failure left after the retries becomes a 503.
    /// </summary>
    private async Task ForwardWithRetriesAsync(HttpContext context, IReverseProxyFeature proxy, RoutingDecision decision, DestinationState? destination, Func<Task> next)
    {
        decision.RetriesLeft = await CanReplayAsync(context) ? _retry.MaxRetries : 0;
        var rechecked = false;
        while (true)
        {
            if (destination is not null && IsUnhealthy(destination) && !rechecked)
            {
                // Marked unhealthy: look again, in case the active copy moved. If the directory still names the
                // same server it is tried anyway: there is nowhere else to go, and its breaker fails fast if dead.
                rechecked = true;
                Forget(decision);
                if (!await RetargetAsync(context, decision))
                {
                    return;
                }
                destination = FindDestination(proxy.AllDestinations, decision.Target!.Server.Fqdn);
                continue;
            }
            if (destination is null)
            {
                await ServerNotReadyAsync(context, decision);
                return;
            }
            proxy.AvailableDestinations = destination;
            await next();
            var failed = FailedInTransport(context);
            if (!decision.RetryRequested && !failed)
            {
                return;
            }
            if (context.Response.HasStarted)
            {
                return;
            }
            if (decision.RetriesLeft == 0)
            {
                if (failed)
                {
                    context.Response.Clear();
                    await ServerNotReadyAsync(context, decision);
                }
                return;
            }
            if (failed)
            {
                Forget(decision);
                await Task.Delay(_retry.ConnectFailureDelay, context.RequestAborted);
            }
            decision.RetriesLeft--;
            decision.RetryCount++;
            metrics.RecordRetry(decision.Family, failed ? "Unreachable" : "MountedElsewhere");
            var from = decision.Target!.Server.Fqdn;
            if (!await RetargetAsync(context, decision))
            {
                return;
            }
            LogRetry(logger, decision.Anchor!.Value.Address, from, decision.Target.Server.Fqdn, decision.RetryCount, context.TraceIdentifier);
            ResetForRetry(context, decision);
            destination = FindDestination(proxy.AllDestinations, decision.Target.Server.Fqdn);
        }
    }

    /// <summary>The stale route is dropped from the cache (the response transform drops the cookie entry).</summary>
    private void Forget(RoutingDecision decision)
    {
        var target = decision.Target!;
        if (target.Database is { } database)
        {
            locations.InvalidateDatabase(database);
        }
        locations.InvalidateMailbox(target.MailboxGuid);
        decision.FromCookie = false;
        decision.CookieUpdate = null;
    }

    /// <summary>The next target: the server the backend named, else a fresh lookup. False when the response is written.</summary>
    private async Task<bool> RetargetAsync(HttpContext context, RoutingDecision decision)
    {
        var anchor = decision.Anchor!.Value;
        var target = decision.Target!;
        if (decision.RetryOnServer is { } named && locations.FindServer(named) is { } server && target.Database is { } database && target.MailboxAddress is { } address)
        {
            decision.Target = target with { Server = server };
            decision.CookieUpdate = cookie.Create(anchor, server.Fqdn, database, address, target.MailboxGuid, decision.Affinity);
            return true;
        }
        try
        {
            var (location, _) = await locations.LocateAsync(anchor, context.RequestAborted);
            if (location is not { IsCloud: false })
            {
                await WriteUnlessStartedAsync(context, StatusCodes.Status404NotFound, "MailboxNotFound", $"No mailbox matches '{anchor.Address}'.");
                return false;
            }
            decision.Target = new RouteTarget(location.Server, location.Database.Name, location.Mailbox.PrimarySmtpAddress, location.Mailbox.Guid);
            decision.CookieUpdate = cookie.Create(anchor, location.Server, location, decision.Affinity);
            return true;
        }
        catch (LocatorUnavailableException ex)
        {
            await WriteUnlessStartedAsync(context, StatusCodes.Status503ServiceUnavailable, "LocatorUnavailable",
                "The mailbox directory cannot be reached: " + ex.Message);
            return false;
        }
    }

    private static void ResetForRetry(HttpContext context, RoutingDecision decision)
    {
        context.Response.Clear();
        context.Features.Set<IForwarderErrorFeature>(null);
        if (context.Request.Body.CanSeek)
        {
            context.Request.Body.Position = 0;
        }
        decision.RetryRequested = false;
        decision.RetryOnServer = null;
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

    /// <summary>
    /// The backend could not be reached or dropped the connection before any response byte: connect failures and
    /// timeouts, an open breaker, a reset or a closed connection while sending. Not: the client giving up, or a
    /// long-running request hitting its activity timeout.
    /// </summary>
    private static bool FailedInTransport(HttpContext context)
        => context.Features.Get<IForwarderErrorFeature>() is { } error
            && !context.RequestAborted.IsCancellationRequested
            && (error.Error is ForwarderError.Request or ForwarderError.RequestBodyDestination || BackendCircuitHandler.NeverReachedServer(error.Exception));

    private static bool IsUnhealthy(DestinationState destination)
        => destination.Health.Active == DestinationHealth.Unhealthy || destination.Health.Passive == DestinationHealth.Unhealthy;

    private static Task ServerNotReadyAsync(HttpContext context, RoutingDecision decision)
        => GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ServerUnavailable",
            $"Mailbox server {decision.Target!.Server.Fqdn} is not available.", LocatorRetryAfter);

    private static Task WriteUnlessStartedAsync(HttpContext context, int status, string code, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }
        context.Response.Clear();
        return GatewayResponses.WriteAsync(context, status, code, message, status == StatusCodes.Status503ServiceUnavailable ? LocatorRetryAfter : null);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retry {RetryCount} for {Anchor}: {From} → {To} (request {RequestId})")]
    private static partial void LogRetry(ILogger logger, string anchor, string from, string to, int retryCount, string requestId);

    /// <summary>Anchor → cookie entry or locator; false when the response has been written.</summary>
    private async Task<bool> LocateMailboxAsync(HttpContext context, RoutingDecision decision, AnchorOutcome outcome, IReadOnlyList<DestinationState> destinations)
    {
        AnchorMailbox anchor;
        if (outcome.Status == AnchorStatus.Hint)
        {
            anchor = outcome.Anchor!.Value;
        }
        else if (decision.CallerAddress is null || !AnchorMailbox.TryParse(decision.CallerAddress, out var user))
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "NoUserAddress",
                "The authenticated user has no mail address to route by; send X-AnchorMailbox.");
            return false;
        }
        else
        {
            anchor = user.Value;
        }
        decision.Anchor = anchor;
        decision.Affinity = decision.Family == ProtocolFamily.Ews
            && context.Request.Headers[PreferServerAffinityHeader].ToString().Equals("true", StringComparison.OrdinalIgnoreCase);

        if (context.Request.Cookies.ContainsKey(cookie.Name))
        {
            decision.CookieEntries = cookie.Read(context.Request);
            if (cookie.Find(decision.CookieEntries, anchor) is { } entry && locations.FindServer(entry.Server) is { } server)
            {
                decision.Target = new RouteTarget(server, entry.Database, entry.MailboxAddress, entry.MailboxGuid);
                decision.FromCookie = true;
                decision.Rule = "BackendCookie";
                decision.Action = _site is null || string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase) ? RouteAction.Proxy : RouteAction.ProxyAcrossSites;
                decision.HintSource += HintSources.ServerCookieSuffix;
                decision.CookieUpdate = entry.Affinity ? cookie.Renew(entry) : null;
                FillCaller(decision, outcome, entry.MailboxGuid);
                return true;
            }
        }

        MailboxLocation? location;
        var started = Stopwatch.GetTimestamp();
        var span = GatewayTracing.StartLocate();
        try
        {
            (location, decision.FromCache) = await locations.LocateAsync(anchor, context.RequestAborted);
        }
        catch (LocatorUnavailableException ex)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "LocatorUnavailable",
                "The mailbox directory cannot be reached: " + ex.Message, LocatorRetryAfter);
            return false;
        }
        finally
        {
            decision.LocatorLatency = Stopwatch.GetElapsedTime(started);
            GatewayTracing.EndLocate(span, decision.FromCache);
        }
        if (location is null)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "MailboxNotFound", $"No mailbox matches '{anchor.Address}'.");
            return false;
        }
        FillCaller(decision, outcome, location.Mailbox.Guid);
        var verdict = rules.Decide(decision.Family, context.Request, location, locations.Store.Servers,
            server => FindDestination(destinations, server.Fqdn) is { } destination && !IsUnhealthy(destination));
        decision.Action = verdict.Action;
        decision.Rule = verdict.Rule;
        if (verdict.Action is RouteAction.Redirect or RouteAction.Reject)
        {
            await WriteVerdictAsync(context, verdict);
            return false;
        }
        decision.Target = new RouteTarget(verdict.Server!, location.Database?.Name, location.Mailbox.PrimarySmtpAddress, location.Mailbox.Guid);
        decision.CookieUpdate = cookie.Create(anchor, verdict.Server!, location, decision.Affinity);
        return true;
    }

    private static Task WriteVerdictAsync(HttpContext context, RouteVerdict verdict)
    {
        var response = context.Response;
        if (verdict.RedirectAddress is { } address)
        {
            // POX Autodiscover: the client is told which address to ask about instead.
            response.ContentType = "text/xml; charset=utf-8";
            return response.WriteAsync(RoutingRules.AutodiscoverRedirectXml(address));
        }
        if (verdict.Action == RouteAction.Reject)
        {
            // Verdict messages are built from configuration only (versions, configured URLs, family paths).
            return GatewayResponses.WriteAsync(context, verdict.Status, verdict.Rule, verdict.Message!, publicReason: true);
        }
        response.StatusCode = verdict.Status;
        if (verdict.Location is { } location)
        {
            response.Headers.Location = location;
        }
        if (verdict.MsLocation is { } msLocation)
        {
            response.Headers["X-MS-Location"] = msLocation;
        }
        return Task.CompletedTask;
    }

    private static void FillCaller(RoutingDecision decision, AnchorOutcome outcome, Guid mailbox)
    {
        if (decision.CallerMailboxGuid == Guid.Empty && outcome.Status == AnchorStatus.NoHint)
        {
            decision.CallerMailboxGuid = mailbox;
        }
    }

    private IReadOnlyList<DestinationState> SiteDestinations(IReadOnlyList<DestinationState> healthy)
    {
        if (_site is null)
        {
            return healthy;
        }
        var inSite = new List<DestinationState>(healthy.Count);
        foreach (var destination in healthy)
        {
            if (locations.FindServer(destination.DestinationId) is { } server && string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase))
            {
                inSite.Add(destination);
            }
        }
        return inSite;
    }

    private static DestinationState? FindDestination(IReadOnlyList<DestinationState> destinations, string fqdn)
    {
        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return destination;
            }
        }
        return null;
    }
}
