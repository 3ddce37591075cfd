using CasGateway.Anchoring;
using CasGateway.Authentication;

namespace CasGateway.Location.Sql;

/// <summary>
/// Passwords of the SQL directory: the mailbox's PBKDF2 hash (the same format as the directory file's), checked
/// through the same <see cref="PasswordVerifier"/> (hashing cap, cache keyed on the stored hash); an unknown user or a
/// mailbox without a password spends a dummy hash, so timing says nothing about who exists.
/// </summary>
internal sealed class SqlCredentialValidator(SqlDirectory directory, PasswordVerifier verifier) : ICredentialValidator
{
    private static readonly string Dummy = PasswordHash.Create(Guid.NewGuid().ToString("N"));

    public async ValueTask<CredentialCheck> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        SqlMailbox? found = null;
        try
        {
            if (AnchorMailbox.TryParse(userName, out var anchor) && anchor.Value.Kind == AnchorKind.Smtp)
            {
                found = await directory.FindMailboxAsync(anchor.Value, cancellationToken);
            }
        }
        catch (LocatorUnavailableException)
        {
            return CredentialCheck.Busy;
        }
        if (found is not { PasswordHash: { } hash })
        {
            return await verifier.SpendAsync(password, Dummy, cancellationToken) is null ? CredentialCheck.Busy : CredentialCheck.Invalid;
        }
        return await verifier.VerifyAsync(userName, password, hash, cancellationToken) switch
        {
            true => new CredentialCheck(CredentialStatus.Valid, new AuthenticatedUser(userName, found.Mailbox.PrimarySmtpAddress, found.Mailbox.Guid)),
            false => CredentialCheck.Invalid,
            null => CredentialCheck.Busy,
        };
    }
}
