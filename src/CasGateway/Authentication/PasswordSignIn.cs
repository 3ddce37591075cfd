using System.Security.Claims;

namespace CasGateway.Authentication;

/// <summary>
/// The one path an HTTP password sign-in takes, whatever carried the password (a Basic header, the browser sign-in
/// form): checks the credentials with the configured <see cref="ICredentialValidator"/> and builds the gateway's
/// principal. Anything that must apply to every password attempt (a failed-login limiter, auditing) belongs here.
/// </summary>
public sealed class PasswordSignIn(ICredentialValidator validator)
{
    /// <summary>
    /// The signed-in principal, its identity's authentication type being <paramref name="method"/> (what backends
    /// see as the authentication method), or null when the user name or password is wrong.
    /// </summary>
    public async ValueTask<ClaimsPrincipal?> CheckAsync(HttpContext context, string userName, string password, string method)
    {
        var user = await validator.ValidateAsync(userName, password, context.RequestAborted);
        if (user is null)
        {
            return null;
        }
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, user.UserName),
                new Claim(GatewayClaims.PrimarySmtpAddress, user.PrimarySmtpAddress),
                new Claim(GatewayClaims.MailboxGuid, user.MailboxGuid.ToString()),
            ],
            method);
        return new ClaimsPrincipal(identity);
    }
}
