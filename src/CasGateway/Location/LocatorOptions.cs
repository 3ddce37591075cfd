using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location;

/// <summary><c>Gateway:Locator</c>: where mailbox locations come from.</summary>
public sealed class LocatorOptions
{
    public const string Section = "Gateway:Locator";

    /// <summary>
    /// The store, and with it the password check: <c>File</c> (embedded directory file, PBKDF2 hashes in it),
    /// <c>Ldap</c> (Active Directory or another LDAP directory; passwords checked by binding as the user) or
    /// <c>Sql</c> (SQLite or PostgreSQL; PBKDF2 hashes in the mailboxes table).
    /// </summary>
    [AllowedValues(LocatorKinds.File, LocatorKinds.Ldap, LocatorKinds.Sql)]
    public string Kind { get; set; } = LocatorKinds.File;

    [Required]
    public DirectoryFileOptions File { get; set; } = new();

    /// <summary>Read when <see cref="Kind"/> is <c>Ldap</c>.</summary>
    [Required]
    public Ldap.LdapLocatorOptions Ldap { get; set; } = new();

    /// <summary>Read when <see cref="Kind"/> is <c>Sql</c>.</summary>
    [Required]
    public Sql.SqlLocatorOptions Sql { get; set; } = new();

    [Required]
    public LocatorCacheOptions Cache { get; set; } = new();

    [Required]
    public LocatorResilienceOptions Resilience { get; set; } = new();
}

/// <summary><c>Gateway:Locator:Resilience</c>: Polly pipeline around every store call, and stale serving.</summary>
public sealed class LocatorResilienceOptions
{
    /// <summary>Bound on one store call.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Retries after a failed call (jittered exponential backoff).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Share of failed calls in the sampling window that opens the breaker.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the breaker stays open before one trial call.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>While the store is down, a location older than its time-to-live is still served for this long.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan StalePeriod { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary><c>Gateway:Locator:Cache</c>: the in-memory cache in front of the store.</summary>
public sealed class LocatorCacheOptions
{
    /// <summary>Most cached anchors.</summary>
    [Range(1, 10_000_000)]
    public int SizeLimit { get; set; } = 200_000;

    /// <summary>How long a found location is reused before the store is asked again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long "no such mailbox" is remembered (short: new mailboxes should appear quickly).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan NegativeTimeToLive { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class DirectoryFileOptions
{
    /// <summary>Path of the directory JSON file, relative to the content root (required when <c>Kind</c> is <c>File</c>).</summary>
    public string Path { get; set; } = "Demo/directory.json";

    /// <summary>Poll the file for changes instead of relying on file-system events (network shares, containers).</summary>
    public bool UsePolling { get; set; }
}
