using System.Diagnostics;
using CasGateway.Anchoring;
using CasGateway.Location;
using CasGateway.Observability;

namespace CasGateway.Routing;

/// <summary>
/// Gathers what <see cref="RoutePlanner"/> needs and asks it: the backend cookie's entry for the anchor, else the
/// locator (through its cache, traced and timed). The real proxy path, its retries and <c>explain</c> all plan
/// through here.
/// </summary>
public sealed class RequestRouter(MailboxLocationCache locations, BackendCookie cookie, RoutePlanner planner)
{
    /// <summary>The plan for a fresh request; its backend cookie is followed when <paramref name="request"/> is given.</summary>
    public async ValueTask<RoutePlan> PlanAsync(RouteFacts facts, HttpRequest? request, ServerHealth health, CancellationToken cancellationToken)
    {
        if (!RoutePlanner.NeedsLookup(facts))
        {
            return planner.Plan(facts, MailboxLookup.NotNeeded, locations.Servers, health);
        }
        var entries = request is not null && request.Cookies.ContainsKey(cookie.Name) ? cookie.Read(request) : [];
        var lookup = await LookUpAsync(facts.Mailbox!.Value, entries, followCookie: request is not null, cancellationToken);
        return planner.Plan(facts, lookup, locations.Servers, health);
    }

    /// <summary>
    /// The plan after <paramref name="failed"/> did not hold: on the server the backend named when the directory
    /// knows it, else from a fresh lookup (the stale route has been dropped; the cookie is not followed again).
    /// </summary>
    public async ValueTask<RoutePlan> ReplanAsync(RouteFacts facts, RoutePlan failed, string? namedServer, ServerHealth health, CancellationToken cancellationToken)
    {
        if (namedServer is not null && failed.Database is not null && failed.MailboxAddress is not null && locations.FindServer(namedServer) is { } server)
        {
            return planner.MountedOn(failed, server);
        }
        var lookup = await LookUpAsync(failed.Anchor!.Value, failed.CookieEntries, followCookie: false, cancellationToken);
        return planner.Plan(facts, lookup, locations.Servers, health);
    }

    /// <summary>Drops the plan's route from the cache: its database's active copy moved, or its server cannot be reached.</summary>
    public void Forget(RoutePlan plan)
    {
        if (plan.Database is { Length: > 0 } database)
        {
            locations.InvalidateDatabase(database);
        }
        locations.InvalidateMailbox(plan.MailboxGuid);
    }

    private async ValueTask<MailboxLookup> LookUpAsync(AnchorMailbox anchor, IReadOnlyList<BackendCookieEntry> entries, bool followCookie, CancellationToken cancellationToken)
    {
        if (followCookie && cookie.Find(entries, anchor) is { } entry && locations.FindServer(entry.Server) is { } server)
        {
            return new MailboxLookup(LookupResult.Cookie, CookieEntry: entry, CookieServer: server) { CookieEntries = entries };
        }
        var started = Stopwatch.GetTimestamp();
        var span = GatewayTracing.StartLocate();
        var fromCache = false;
        try
        {
            (var location, fromCache) = await locations.LocateAsync(anchor, cancellationToken);
            return new MailboxLookup(location is null ? LookupResult.NotFound : LookupResult.Found, location, FromCache: fromCache, Latency: Stopwatch.GetElapsedTime(started))
            {
                CookieEntries = entries,
            };
        }
        catch (LocatorUnavailableException ex)
        {
            return new MailboxLookup(LookupResult.Unavailable, Latency: Stopwatch.GetElapsedTime(started), Problem: ex.Message) { CookieEntries = entries };
        }
        finally
        {
            GatewayTracing.EndLocate(span, fromCache);
        }
    }
}
