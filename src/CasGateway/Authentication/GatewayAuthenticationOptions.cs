using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary><c>Gateway:Authentication</c>.</summary>
public sealed class GatewayAuthenticationOptions
{
    public const string Section = "Gateway:Authentication";

    /// <summary>Accept HTTP Basic (legacy protocols), checked by the credential validator.</summary>
    public bool BasicEnabled { get; set; } = true;

    /// <summary>Realm named in the Basic challenge.</summary>
    [Required]
    [RegularExpression("^[^\"\\\\\\r\\n]{1,64}$", ErrorMessage = "Realm must be 1-64 characters without quotes, backslashes or line breaks.")]
    public string Realm { get; set; } = "CasGateway";

    /// <summary>How long a successful password check is remembered (0 disables).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan CredentialCacheLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How many remembered credentials at most.</summary>
    [Range(1, 10_000_000)]
    public int CredentialCacheSize { get; set; } = 100_000;

    /// <summary>
    /// Bearer tokens whose object id matches no mailbox's <c>objectId</c> may name their mailbox by
    /// <c>preferred_username</c> (off: the object id alone decides).
    /// </summary>
    public bool BearerUsernameFallback { get; set; }

    /// <summary>Back-off, lockout and the cap on concurrent password hashing (see <see cref="FailedLoginOptions"/>).</summary>
    [Required]
    [ValidateObjectMembers]
    public FailedLoginOptions FailedLogins { get; set; } = new();
}
