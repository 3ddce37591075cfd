using System.ComponentModel.DataAnnotations;

namespace CasGateway.Authentication.Browser;

/// <summary>How people in a browser (OWA, ECP) sign in.</summary>
public enum BrowserSignInMode
{
    /// <summary>No sign-in page: browsers get the Basic/Bearer challenge like any other client.</summary>
    None,

    /// <summary>The gateway's own sign-in page, checked by the credential validator.</summary>
    Forms,

    /// <summary>An OpenID Connect identity provider (authorization code flow with PKCE).</summary>
    OpenIdConnect,

    /// <summary>The sign-in page, with a link to the identity provider beside the password form.</summary>
    Both,
}

/// <summary>
/// The browser settings of <c>Gateway:Authentication</c>: <c>Browser</c>, <c>Forms</c> and <c>OpenIdConnect</c>
/// (bound beside <see cref="GatewayAuthenticationOptions"/>).
/// </summary>
public sealed class BrowserSignInOptions : IValidatableObject
{
    /// <summary><c>Forms</c>, <c>OpenIdConnect</c>, <c>Both</c> or <c>None</c>.</summary>
    public BrowserSignInMode Browser { get; set; } = BrowserSignInMode.Forms;

    public FormsSignInOptions Forms { get; set; } = new();

    public OpenIdConnectSignInOptions OpenIdConnect { get; set; } = new();

    public bool UsesForms() => Browser is BrowserSignInMode.Forms or BrowserSignInMode.Both;

    public bool UsesOpenIdConnect() => Browser is BrowserSignInMode.OpenIdConnect or BrowserSignInMode.Both;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        const string prefix = GatewayAuthenticationOptions.Section;
        if (Forms.PrivateSessionLifetime < Forms.PublicSessionLifetime)
        {
            yield return new ValidationResult(
                $"{prefix}:Forms:PrivateSessionLifetime ({Forms.PrivateSessionLifetime}) must not be shorter than PublicSessionLifetime ({Forms.PublicSessionLifetime}).");
        }
        if (!UsesOpenIdConnect())
        {
            yield break;
        }
        if (OpenIdConnect.Authority is not { IsAbsoluteUri: true } authority || authority.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult($"{prefix}:OpenIdConnect:Authority: required when Browser is {Browser}: the identity provider's https issuer URL.");
        }
        if (string.IsNullOrWhiteSpace(OpenIdConnect.ClientId))
        {
            yield return new ValidationResult($"{prefix}:OpenIdConnect:ClientId: required when Browser is {Browser}.");
        }
    }
}

/// <summary><c>Gateway:Authentication:Forms</c>: the sign-in page and its session cookie.</summary>
public sealed class FormsSignInOptions
{
    /// <summary>Shown on the sign-in and signed-out pages.</summary>
    [Required]
    [RegularExpression("^[^\\r\\n\\x00]{1,100}$", ErrorMessage = "OrganizationName must be 1-100 characters on one line.")]
    public string OrganizationName { get; set; } = "Contoso";

    /// <summary>Sliding session length on a public or shared computer (the default choice); the cookie ends with the browser.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan PublicSessionLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Sliding session length when the user says this is a private computer; the cookie outlives the browser.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan PrivateSessionLifetime { get; set; } = TimeSpan.FromHours(8);
}

/// <summary><c>Gateway:Authentication:OpenIdConnect</c>: a generic OpenID Connect provider (Entra ID included).</summary>
public sealed class OpenIdConnectSignInOptions
{
    /// <summary>The issuer, e.g. <c>https://login.microsoftonline.com/&lt;tenant&gt;/v2.0</c>; its discovery document is read from there.</summary>
    public Uri? Authority { get; set; }

    public string ClientId { get; set; } = "";

    /// <summary>The client secret for the code redemption (confidential client); keep it out of appsettings (environment or user secrets).</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>Name of the provider on the sign-in page's link (when Browser is Both).</summary>
    [Required]
    [RegularExpression("^[^\\r\\n\\x00]{1,60}$", ErrorMessage = "DisplayName must be 1-60 characters on one line.")]
    public string DisplayName { get; set; } = "your organization's account";

    /// <summary>Scopes asked for besides <c>openid profile email</c>.</summary>
    public List<string> Scopes { get; set; } = [];
}
