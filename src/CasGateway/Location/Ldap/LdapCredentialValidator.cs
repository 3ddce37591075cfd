using System.Net;
using CasGateway.Authentication;

namespace CasGateway.Location.Ldap;

/// <summary>
/// Passwords checked where they live: the user is found by address or UPN (escaped into the filter), then the
/// directory is asked to bind as that DN with the password, over TLS. The directory decides — disabled and
/// locked-out accounts included. A good check is remembered in the <see cref="CredentialCheckCache"/>, so the same
/// credentials within its lifetime cost neither a search nor a bind; a refused one forgets the user's remembered
/// check. A directory that cannot be reached is a temporary refusal, never a wrong password, unless these credentials
/// signed in within the stale period (<see cref="RecentSignIns"/>).
/// </summary>
internal sealed class LdapCredentialValidator(LdapDirectory directory, LdapServerPool pool, CredentialCheckCache cache, RecentSignIns recent) : ICredentialValidator
{
    /// <summary>No stored hash to check against: the directory's bind decided.</summary>
    private const string CheckedByBind = "ldap-bind";

    public async ValueTask<CredentialCheck> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        // An empty password is an "unauthenticated bind" that LDAP servers accept without checking anything.
        if (password.Length == 0 || userName.Length == 0)
        {
            return CredentialCheck.Invalid;
        }
        if (cache.TryFind(userName, password, CheckedByBind, out AuthenticatedUser remembered))
        {
            return new CredentialCheck(CredentialStatus.Valid, remembered);
        }
        try
        {
            if (await directory.FindUserAsync(userName, cancellationToken) is not { } user
                || !await pool.CanBindAsync(new NetworkCredential(user.Dn, password), cancellationToken))
            {
                cache.Forget(userName);
                recent.Forget(userName, password);
                return CredentialCheck.Invalid;
            }
            var signedIn = new AuthenticatedUser(userName, user.Mailbox.PrimarySmtpAddress, user.Mailbox.Guid);
            cache.Remember(userName, password, CheckedByBind, signedIn);
            recent.Remember(userName, password, signedIn);
            return new CredentialCheck(CredentialStatus.Valid, signedIn);
        }
        catch (LocatorUnavailableException)
        {
            return recent.Vouch(userName, password) is { } known ? new CredentialCheck(CredentialStatus.Valid, known) : CredentialCheck.Unavailable;
        }
    }
}
