using CasGateway.Anchoring;
using CasGateway.Location;

namespace CasGateway.Routing;

/// <summary>What the gateway does with a request.</summary>
public enum RouteAction
{
    /// <summary>Proxy to a server of this site (or, without a server, to any healthy server of this site).</summary>
    Proxy,

    /// <summary>Proxy to a server of another site.</summary>
    ProxyAcrossSites,

    /// <summary>Send the client elsewhere (302, or ActiveSync's 451, or an Autodiscover redirect answer).</summary>
    Redirect,

    /// <summary>Answer with an error: a bad request, or where the mailbox is served instead.</summary>
    Reject,
}

/// <summary>How the server was found, as the protocol log's <c>RoutingType</c> names it.</summary>
public enum RouteSource
{
    /// <summary>Not found: the request was refused before a server was looked for.</summary>
    None,
    BackEndCookie,
    LocatorCache,
    Locator,
    TargetServer,
    AnyServer,
}

/// <summary>
/// The gateway's own answer to a request it does not forward. <see cref="ErrorCode"/> is set for refusals (the
/// protocol log's <c>ErrorCode</c>); redirects carry <see cref="Location"/>, <see cref="MsLocation"/> (ActiveSync's
/// 451) or <see cref="RedirectAddress"/> (POX Autodiscover's <c>redirectAddr</c>).
/// </summary>
public sealed record RouteAnswer(int Status, string? ErrorCode, string? Message)
{
    public string? Location { get; init; }

    public string? MsLocation { get; init; }

    public string? RedirectAddress { get; init; }

    /// <summary>The condition is passing (locator down, no healthy server): the answer carries <c>Retry-After</c>.</summary>
    public bool RetryLater { get; init; }
}

/// <summary>
/// The route of one request, decided by <see cref="RoutePlanner"/> and never changed: a retry gets a new plan. The
/// proxy steps execute it, the transforms and the protocol log read it, and <c>explain</c> prints it.
/// </summary>
/// <param name="Rule">The decision-table rule that fired (<c>SameSite</c>, <c>CrossSiteRedirect</c>, <c>BackendCookie</c>
/// …); null when the request was refused before the table (bad hint, unknown mailbox, locator down).</param>
public sealed record RoutePlan(ProtocolFamily Family, RouteAction Action, string? Rule, string HintSource, RouteSource Source)
{
    /// <summary>The mailbox the request is routed by (a hint's, else the caller's).</summary>
    public AnchorMailbox? Anchor { get; init; }

    /// <summary>The caller's address, handed to the backend in the signed identity.</summary>
    public string? CallerAddress { get; init; }

    /// <summary>The caller's mailbox GUID (from the claims, or the located mailbox when routed by the caller).</summary>
    public Guid CallerMailboxGuid { get; init; }

    /// <summary><c>X-PreferServerAffinity: true</c> (EWS): the cookie entry written for this plan slides.</summary>
    public bool Affinity { get; init; }

    /// <summary>The located mailbox's primary address.</summary>
    public string? MailboxAddress { get; init; }

    public Guid MailboxGuid { get; init; }

    public string? Database { get; init; }

    /// <summary>The server holding the database's active copy (or the server the request named).</summary>
    public MailboxServer? ActiveServer { get; init; }

    /// <summary>Where the request is forwarded: the active server, a front end of an older version, or null (any server, or not forwarded).</summary>
    public MailboxServer? Server { get; init; }

    /// <summary>Set when the gateway answers itself (redirect or refusal).</summary>
    public RouteAnswer? Answer { get; init; }

    /// <summary>The entries of the request's backend cookie (kept when the cookie is rewritten).</summary>
    public IReadOnlyList<BackendCookieEntry> CookieEntries { get; init; } = [];

    /// <summary>The cookie entry this plan follows, if the cookie chose the server.</summary>
    public BackendCookieEntry? CookieEntry { get; init; }

    /// <summary>Time spent locating (zero when no lookup was made).</summary>
    public TimeSpan LocatorLatency { get; init; }

    /// <summary>A mailbox request to a known server: a stale route can be dropped and the request tried again.</summary>
    public bool CanRetry => Anchor is not null && Server is not null && Answer is null;
}
