using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location;

/// <summary><c>Gateway:BackendCookie</c>: the signed cookie that lets later requests skip the locator.</summary>
public sealed class BackendCookieOptions
{
    public const string Section = "Gateway:BackendCookie";

    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,64}$", ErrorMessage = "Name must be a plain cookie name.")]
    public string Name { get; set; } = "X-BackEndCookie";

    /// <summary>How long a server entry is trusted (Exchange: about 10 minutes).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ServerEntryLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Sliding lifetime of an entry pinned by <c>X-PreferServerAffinity: true</c> (EWS subscription groups).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AffinityEntryLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Most anchors remembered per cookie.</summary>
    [Range(1, 20)]
    public int MaxEntries { get; set; } = 5;
}
