using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location;

/// <summary><c>Gateway:Locator</c>: where mailbox locations come from.</summary>
public sealed class LocatorOptions
{
    public const string Section = "Gateway:Locator";

    /// <summary>The store: <c>File</c> (embedded directory file).</summary>
    [AllowedValues("File")]
    public string Kind { get; set; } = "File";

    [Required]
    public DirectoryFileOptions File { get; set; } = new();

    [Required]
    public LocatorCacheOptions Cache { get; set; } = new();
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
    /// <summary>Path of the directory JSON file, relative to the content root.</summary>
    [Required]
    public string Path { get; set; } = "Demo/directory.json";

    /// <summary>Poll the file for changes instead of relying on file-system events (network shares, containers).</summary>
    public bool UsePolling { get; set; }
}
