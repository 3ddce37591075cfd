using System.Security.Claims;

namespace CasGateway.Authentication;

/// <summary>Claims the gateway relies on after authentication, whatever the scheme.</summary>
public static class GatewayClaims
{
    public const string PrimarySmtpAddress = "casgateway/primary_smtp";
    public const string MailboxGuid = "casgateway/mailbox_guid";

    /// <summary>
    /// The caller's mailbox address, as the directory knows it: set by Basic authentication, and for bearer tokens
    /// by <see cref="BearerMailboxMapper"/> — never a user name taken from a token as it stands.
    /// </summary>
    public static string? AddressOf(ClaimsPrincipal user) => user.FindFirstValue(PrimarySmtpAddress);

    /// <summary>How the caller authenticated: <c>Basic</c>, <c>Forms</c>, <c>OpenIdConnect</c> or <c>Bearer</c>.</summary>
    public static string MethodOf(ClaimsPrincipal user) => user.Identity switch
    {
        null or { IsAuthenticated: false } => "",
        { AuthenticationType: BasicAuthenticationHandler.SchemeName or Browser.BrowserSession.FormsMethod or Browser.BrowserSession.OpenIdConnectMethod } identity
            => identity.AuthenticationType!,
        _ => "Bearer",
    };

    public static Guid MailboxGuidOf(ClaimsPrincipal user)
        => Guid.TryParse(user.FindFirstValue(MailboxGuid), out var guid) ? guid : Guid.Empty;
}
