using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Routing;

/// <summary>
/// The routing decision as a pure function: request facts (with the caller), what the cookie and the locator found,
/// the directory's servers and their health, and the site/version table → one immutable <see cref="RoutePlan"/>.
/// No I/O and no per-request closures: the same inputs always give the same plan, which is what lets <c>explain</c>
/// print exactly what a real request gets, and the unit tests walk the whole table. See docs/routing.md.
/// </summary>
public sealed class RoutePlanner(RoutingRules rules, IOptions<GatewayOptions> gateway)
{
    private readonly string? _site = gateway.Value.Site;

    /// <summary>Whether <paramref name="facts"/> can only be planned after looking for their mailbox.</summary>
    public static bool NeedsLookup(in RouteFacts facts) => facts.Mailbox is not null && facts.Hint.Status is AnchorStatus.Hint or AnchorStatus.NoHint;

    public RoutePlan Plan(in RouteFacts facts, in MailboxLookup lookup, IReadOnlyList<MailboxServer> servers, ServerHealth health)
    {
        var hint = facts.Hint;
        switch (hint.Status)
        {
            case AnchorStatus.BadRequest:
                return Refuse(facts, StatusCodes.Status400BadRequest, "BadAnchor", hint.Problem!);
            case AnchorStatus.NotFound:
                return Refuse(facts, StatusCodes.Status404NotFound, "NoAnchor", hint.Problem!);
            case AnchorStatus.AnyServer:
                return new RoutePlan(facts.Family, RouteAction.Proxy, HintSources.AnyServer, hint.HintSource, RouteSource.AnyServer) { CallerAddress = facts.CallerAddress, CallerMailboxGuid = facts.CallerMailboxGuid };
            case AnchorStatus.Server:
                return FindServer(servers, hint.Server) is { } named
                    ? new RoutePlan(facts.Family, ActionFor(named), HintSources.TargetServer, hint.HintSource, RouteSource.TargetServer)
                    {
                        CallerAddress = facts.CallerAddress,
                        CallerMailboxGuid = facts.CallerMailboxGuid,
                        ActiveServer = named,
                        Server = named,
                    }
                    : Refuse(facts, StatusCodes.Status400BadRequest, "UnknownServer", $"'{hint.Server}' is not a known server.");
        }
        if (facts.Mailbox is not { } anchor)
        {
            return Refuse(facts, StatusCodes.Status400BadRequest, "NoUserAddress", "The authenticated user has no mail address to route by; send X-AnchorMailbox.");
        }
        var action = RouteAction.Reject;
        string? rule = null;
        var hintSource = hint.HintSource;
        MailboxServer? active = null;
        MailboxServer? target = null;
        RouteAnswer? answer = null;
        string? address = null;
        string? database = null;
        var mailbox = Guid.Empty;
        switch (lookup.Result)
        {
            case LookupResult.Cookie:
                var entry = lookup.CookieEntry!;
                (action, rule, hintSource) = (ActionFor(lookup.CookieServer!), "BackendCookie", hintSource + HintSources.ServerCookieSuffix);
                (address, mailbox, database, active, target) = (entry.MailboxAddress, entry.MailboxGuid, entry.Database, lookup.CookieServer, lookup.CookieServer);
                break;
            case LookupResult.Unavailable:
                answer = new RouteAnswer(StatusCodes.Status503ServiceUnavailable, "LocatorUnavailable", "The mailbox directory cannot be reached: " + lookup.Problem) { RetryLater = true };
                break;
            case LookupResult.Found when lookup.Location is { } location:
                var verdict = rules.Decide(facts, location, servers, health);
                (action, rule, target, answer) = (verdict.Action, verdict.Rule, verdict.Server, verdict.Answer);
                (address, mailbox, database, active) = (location.Mailbox.PrimarySmtpAddress, location.Mailbox.Guid, location.Database?.Name, location.Server);
                break;
            default:
                answer = new RouteAnswer(StatusCodes.Status404NotFound, "MailboxNotFound", $"No mailbox matches '{anchor.Address}'.");
                break;
        }
        return new RoutePlan(facts.Family, action, rule, hintSource, lookup.Result == LookupResult.Cookie ? RouteSource.BackEndCookie : lookup.FromCache ? RouteSource.LocatorCache : RouteSource.Locator)
        {
            Anchor = anchor,
            CallerAddress = facts.CallerAddress,
            // A request routed by the caller's own mailbox tells the backend the caller's mailbox GUID.
            CallerMailboxGuid = facts.CallerMailboxGuid == Guid.Empty && hint.Status == AnchorStatus.NoHint ? mailbox : facts.CallerMailboxGuid,
            Affinity = facts.Affinity,
            MailboxAddress = address,
            MailboxGuid = mailbox,
            Database = database,
            ActiveServer = active,
            Server = target,
            Answer = answer,
            CookieEntries = lookup.CookieEntries,
            CookieEntry = lookup.CookieEntry,
            LocatorLatency = lookup.Latency,
        };
    }

    /// <summary>
    /// The backend said the database is mounted on <paramref name="server"/>: the same mailbox, there. The cookie
    /// entry the plan followed no longer holds, so a new one is written if this attempt succeeds.
    /// </summary>
    public RoutePlan MountedOn(RoutePlan plan, MailboxServer server)
        => plan with { Action = ActionFor(server), ActiveServer = server, Server = server, CookieEntry = null };

    private RouteAction ActionFor(MailboxServer server)
        => _site is null || string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase) ? RouteAction.Proxy : RouteAction.ProxyAcrossSites;

    private static RoutePlan Refuse(in RouteFacts facts, int status, string code, string message)
        => new(facts.Family, RouteAction.Reject, null, facts.Hint.HintSource, RouteSource.None)
        {
            CallerAddress = facts.CallerAddress,
            CallerMailboxGuid = facts.CallerMailboxGuid,
            Answer = new RouteAnswer(status, code, message),
        };

    private static MailboxServer? FindServer(IReadOnlyList<MailboxServer> servers, string? fqdn)
    {
        foreach (var server in servers)
        {
            if (string.Equals(server.Fqdn, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return server;
            }
        }
        return null;
    }
}
