using CasGateway.Anchoring;
using CasGateway.Authentication;

namespace CasGateway.Location.Sql;

/// <summary>Passwords of the SQL directory: the mailbox's PBKDF2 hash (the same format as the directory file's).</summary>
internal sealed class SqlCredentialValidator(SqlDirectory directory) : ICredentialValidator
{
    public async ValueTask<AuthenticatedUser?> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        if (!AnchorMailbox.TryParse(userName, out var anchor) || anchor.Value.Kind != AnchorKind.Smtp)
        {
            return null;
        }
        var found = await directory.FindMailboxAsync(anchor.Value, cancellationToken);
        if (found is not { PasswordHash: { } hash } || !PasswordHash.Verify(password, hash))
        {
            return null;
        }
        return new AuthenticatedUser(userName, found.Mailbox.PrimarySmtpAddress, found.Mailbox.Guid);
    }
}
