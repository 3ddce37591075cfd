using System.Diagnostics;
using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Observability;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// The proxy-pipeline step between authentication and forwarding: anchor → (backend cookie | cache → locator) →
/// keep only the destination of the server holding the active copy. Everything that cannot be routed is answered
/// here, before any backend is contacted.
/// </summary>
public sealed class MailboxRoutingStep(
    AnchorResolver anchors,
    MailboxLocationCache locations,
    BackendCookie cookie,
    IOptions<GatewayOptions> gateway)
{
    public const string PreferServerAffinityHeader = "X-PreferServerAffinity";
    private static readonly TimeSpan LocatorRetryAfter = TimeSpan.FromSeconds(5);
    private readonly string? _site = gateway.Value.Site;

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
                if (locations.Store.Servers.FirstOrDefault(s => string.Equals(s.Fqdn, outcome.Server, StringComparison.OrdinalIgnoreCase)) is not { } server)
                {
                    await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "UnknownServer", $"'{outcome.Server}' is not a known server.");
                    return;
                }
                decision.Target = new RouteTarget(server, null, null, Guid.Empty);
                destination = FindDestination(proxy.AllDestinations, server.Fqdn);
                break;
            default:
                if (!await LocateMailboxAsync(context, decision, outcome))
                {
                    return;
                }
                destination = FindDestination(proxy.AllDestinations, decision.Target!.Server.Fqdn);
                break;
        }
        if (destination is null)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ServerNotReady",
                $"Mailbox server {decision.Target!.Server.Fqdn} is not available yet.", LocatorRetryAfter);
            return;
        }
        proxy.AvailableDestinations = destination;
        await next();
    }

    /// <summary>Anchor → cookie entry or locator; false when the response has been written.</summary>
    private async Task<bool> LocateMailboxAsync(HttpContext context, RoutingDecision decision, AnchorOutcome outcome)
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
        var affinity = decision.Family == ProtocolFamily.Ews
            && context.Request.Headers[PreferServerAffinityHeader].ToString().Equals("true", StringComparison.OrdinalIgnoreCase);

        if (context.Request.Cookies.ContainsKey(cookie.Name))
        {
            decision.CookieEntries = cookie.Read(context.Request);
            if (cookie.Find(decision.CookieEntries, anchor) is { } entry && FindServer(entry.Server) is { } server)
            {
                decision.Target = new RouteTarget(server, entry.Database, entry.MailboxAddress, entry.MailboxGuid);
                decision.FromCookie = true;
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
        decision.Target = new RouteTarget(location.Server, location.Database.Name, location.Mailbox.PrimarySmtpAddress, location.Mailbox.Guid);
        decision.CookieUpdate = cookie.Create(anchor, location, affinity);
        FillCaller(decision, outcome, location.Mailbox.Guid);
        return true;
    }

    private static void FillCaller(RoutingDecision decision, AnchorOutcome outcome, Guid mailbox)
    {
        if (decision.CallerMailboxGuid == Guid.Empty && outcome.Status == AnchorStatus.NoHint)
        {
            decision.CallerMailboxGuid = mailbox;
        }
    }

    private MailboxServer? FindServer(string fqdn)
    {
        foreach (var server in locations.Store.Servers)
        {
            if (string.Equals(server.Fqdn, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return server;
            }
        }
        return null;
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
            if (FindServer(destination.DestinationId) is { } server && string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase))
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
