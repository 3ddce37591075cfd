using System.ComponentModel.DataAnnotations;

namespace CasGateway.Throttling;

/// <summary>
/// <c>Gateway:Throttling</c>: Exchange-style throttling policies. Each authenticated user has a budget per protocol
/// family (anonymous requests: per source address); a request over it is answered 429 (ActiveSync: 503) with
/// <c>Retry-After</c>. Health probes and the gateway's own endpoints are never throttled. Every limit is unset by
/// default (a front door must not refuse a site's traffic it was not told to refuse); the README gives a starting policy.
/// </summary>
public sealed class ThrottlingOptions
{
    public const string Section = "Gateway:Throttling";

    public bool Enabled { get; set; } = true;

    /// <summary>The budget of every family without a policy of its own.</summary>
    [Required]
    public ThrottlePolicy Default { get; set; } = new();

    /// <summary>Per protocol family (<c>Owa</c>, <c>Ews</c>, <c>ActiveSync</c>, …): replaces <see cref="Default"/> for it.</summary>
    public Dictionary<string, ThrottlePolicy> Families { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Anonymous requests (allowed through without credentials), counted per source address and family.</summary>
    [Required]
    public ThrottlePolicy Anonymous { get; set; } = new();

    /// <summary>Logged-in IMAP, POP3 and SMTP submission sessions a user may hold at once (on every node together when <c>Gateway:Redis</c> is set).</summary>
    [Required]
    public MailSessionCaps MailSessions { get; set; } = new();
}

/// <summary>Concurrent logged-in sessions per user and mail protocol; an absent cap is no cap.</summary>
public sealed class MailSessionCaps
{
    [Range(1, 10_000)]
    public int? Imap { get; set; }

    [Range(1, 10_000)]
    public int? Pop { get; set; }

    /// <summary>Authenticated submission sessions (inbound SMTP has no user and is not capped here).</summary>
    [Range(1, 10_000)]
    public int? Smtp { get; set; }
}

/// <summary>One budget; an absent limit is no limit.</summary>
public sealed class ThrottlePolicy
{
    /// <summary>Requests per <see cref="Window"/> (counted on every node together when <c>Gateway:Redis</c> is set).</summary>
    [Range(1, 1_000_000)]
    public int? RequestsPerWindow { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Requests in flight at once on this node.</summary>
    [Range(1, 100_000)]
    public int? ConcurrentRequests { get; set; }

    /// <summary>Long-lived requests (ActiveSync Ping, MAPI NotificationWait, RPC channels, WebSockets) at once on this node.</summary>
    [Range(0, 10_000)]
    public int? ConcurrentLongLived { get; set; }
}
