using CasGateway.Location;

namespace CasGateway.Routing;

/// <summary>What looking for a request's mailbox found.</summary>
public enum LookupResult
{
    /// <summary>The request's route needs no mailbox (refused, a named server, any server).</summary>
    NotNeeded,

    /// <summary>A live backend cookie entry names a known server: no lookup was made.</summary>
    Cookie,

    /// <summary>The locator (or its cache) found the mailbox.</summary>
    Found,

    /// <summary>No mailbox matches the anchor.</summary>
    NotFound,

    /// <summary>The directory cannot be reached and nothing usable is cached.</summary>
    Unavailable,
}

/// <summary>The input the planner takes from the cookie and the locator; made by <see cref="RequestRouter"/>.</summary>
public readonly record struct MailboxLookup(
    LookupResult Result,
    MailboxLocation? Location = null,
    BackendCookieEntry? CookieEntry = null,
    MailboxServer? CookieServer = null,
    bool FromCache = false,
    TimeSpan Latency = default,
    string? Problem = null)
{
    public static readonly MailboxLookup NotNeeded = new(LookupResult.NotNeeded);

    /// <summary>The entries of the request's backend cookie, whatever was found.</summary>
    public IReadOnlyList<BackendCookieEntry> CookieEntries { get; init; } = [];
}
