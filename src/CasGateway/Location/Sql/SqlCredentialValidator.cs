using CasGateway.Anchoring;
using CasGateway.Authentication;

namespace CasGateway.Location.Sql;

/// <summary>
/// Passwords of the SQL directory: the mailbox's PBKDF2 hash (the same format as the directory file's), checked
/// through the same <see cref="PasswordVerifier"/> (hashing cap, cache keyed on the stored hash); an unknown user or a
/// mailbox without a password spends a dummy hash, so timing says nothing about who exists. While the database cannot be
/// reached, <see cref="RecentSignIns"/> vouches for credentials that signed in within the stale period.
/// </summary>
internal sealed class SqlCredentialValidator(SqlDirectory directory, PasswordVerifier verifier, RecentSignIns recent) : ICredentialValidator
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
            return recent.Vouch(userName, password) is { } known ? new CredentialCheck(CredentialStatus.Valid, known) : CredentialCheck.Unavailable;
        }
        if (found is not { PasswordHash: { } hash })
        {
            return await verifier.SpendAsync(password, Dummy, cancellationToken) is null ? CredentialCheck.Busy : CredentialCheck.Invalid;
        }
        var check = await verifier.CheckAsync(new AuthenticatedUser(userName, found.Mailbox.PrimarySmtpAddress, found.Mailbox.Guid), password, hash, cancellationToken);
        switch (check.Status)
        {
            case CredentialStatus.Valid:
                recent.Remember(userName, password, check.User!);
                break;
            case CredentialStatus.Invalid:
                recent.Forget(userName, password);
                break;
        }
        return check;
    }
}
