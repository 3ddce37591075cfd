using System.Net;
using CasGateway.Authentication;

namespace CasGateway.Location.Ldap;

/// <summary>
/// Passwords checked where they live: the user is found by address or UPN (escaped into the filter), then the
/// directory is asked to bind as that DN with the password, over TLS. The directory decides — disabled and
/// locked-out accounts included.
/// </summary>
internal sealed class LdapCredentialValidator(LdapDirectory directory, LdapServerPool pool) : ICredentialValidator
{
    public async ValueTask<AuthenticatedUser?> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        // An empty password is an "unauthenticated bind" that LDAP servers accept without checking anything.
        if (password.Length == 0 || userName.Length == 0)
        {
            return null;
        }
        if (await directory.FindUserAsync(userName, cancellationToken) is not { } user)
        {
            return null;
        }
        return await pool.CanBindAsync(new NetworkCredential(user.Dn, password), cancellationToken)
            ? new AuthenticatedUser(userName, user.Mailbox.PrimarySmtpAddress, user.Mailbox.Guid)
            : null;
    }
}
