using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// <c>Gateway:Authentication:FailedLogins</c>: what password guessing costs the guesser, the same for HTTP Basic,
/// IMAP, POP3 and SMTP. Failures are counted per account (the name the client gave, known or not) and per source
/// address (IPv6 per /64); past <see cref="FailedLoginThresholds.BackoffAfter"/> failures each further attempt must
/// wait <see cref="BackoffBase"/> doubled per failure (at most <see cref="BackoffMax"/>); at
/// <see cref="FailedLoginThresholds.LockoutAfter"/> every attempt, even with the right password, is refused for
/// <see cref="LockoutDuration"/>. Every combination is meaningful (a back-off threshold at or above the lockout's means
/// lockout only), so a reload can never leave the limiter without valid settings. See docs/login-limits.md.
/// </summary>
public sealed class FailedLoginOptions
{
    /// <summary>Count failures and refuse attempts; off, only the per-connection mail limits remain.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Thresholds per account name.</summary>
    [Required]
    [ValidateObjectMembers]
    public FailedLoginThresholds Account { get; set; } = new() { BackoffAfter = 5, LockoutAfter = 10 };

    /// <summary>Thresholds per source address (higher: many users can share one NAT address).</summary>
    [Required]
    [ValidateObjectMembers]
    public FailedLoginThresholds Source { get; set; } = new() { BackoffAfter = 20, LockoutAfter = 100 };

    /// <summary>The wait after the first failure past the back-off threshold; doubled for each further failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest back-off wait.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a locked account or source is refused, whatever the password.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Failures are forgotten this long after the last one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Accounts and sources remembered at most per node (the earliest to expire make room).</summary>
    [Range(1_000, 10_000_000)]
    public int MaxTrackedEntries { get; set; } = 200_000;

    /// <summary>Password hashes (PBKDF2) computed at once; unset = one per processor.</summary>
    [Range(1, 1024)]
    public int? MaxConcurrentHashes { get; set; }

    /// <summary>How long a password check waits for a hashing slot before it is answered "busy, try again".</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan HashQueueTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>When back-off and lockout start for one kind of key.</summary>
public sealed class FailedLoginThresholds
{
    /// <summary>Failures answered at once; from this many on, the next attempt waits.</summary>
    [Range(0, 10_000)]
    public int BackoffAfter { get; set; } = 5;

    /// <summary>Failures that lock the key for the lockout duration.</summary>
    [Range(1, 100_000)]
    public int LockoutAfter { get; set; } = 10;
}
