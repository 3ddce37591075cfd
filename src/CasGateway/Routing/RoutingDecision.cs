using CasGateway.Anchoring;
using CasGateway.Location;

namespace CasGateway.Routing;

/// <summary>Where a request goes: a server, and for mailbox requests the mailbox and its database.</summary>
public sealed record RouteTarget(MailboxServer Server, string? Database, string? MailboxAddress, Guid MailboxGuid);

/// <summary>What the gateway decided for one request; read by the forwarding transforms and the protocol log.</summary>
public sealed class RoutingDecision
{
    public ProtocolFamily Family { get; init; }

    public AnchorMailbox? Anchor { get; set; }

    public string HintSource { get; set; } = "";

    public RouteTarget? Target { get; set; }

    /// <summary>The caller's address and mailbox GUID (the identity handed to the backend).</summary>
    public string? CallerAddress { get; set; }

    public Guid CallerMailboxGuid { get; set; }

    /// <summary>The backend cookie decided the server (no locator call).</summary>
    public bool FromCookie { get; set; }

    /// <summary>The locator cache answered.</summary>
    public bool FromCache { get; set; }

    /// <summary>Time spent locating (zero when the cookie decided).</summary>
    public TimeSpan LocatorLatency { get; set; }

    /// <summary>The entries of the request's backend cookie.</summary>
    public IReadOnlyList<BackendCookieEntry> CookieEntries { get; set; } = [];

    /// <summary>The entry to write back into the cookie with the response, if any.</summary>
    public BackendCookieEntry? CookieUpdate { get; set; }

    /// <summary>The path the family's cookie is scoped to, e.g. <c>/owa</c>.</summary>
    public string CookiePath { get; set; } = "/";

    /// <summary>How many times the request was sent again to another server.</summary>
    public int RetryCount { get; set; }

    /// <summary>Short code of why the request was refused, if it was.</summary>
    public string? ErrorCode { get; set; }
}
