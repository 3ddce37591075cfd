using CasGateway.Location;

namespace CasGateway.Authentication;

/// <summary>The embedded validator: PBKDF2 password hashes kept in the directory file.</summary>
public sealed class DirectoryCredentialValidator(DirectoryFileSource directory) : ICredentialValidator
{
    public ValueTask<AuthenticatedUser?> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var snapshot = directory.Current;
        var mailbox = snapshot.FindByAddress(userName);
        if (mailbox is null || snapshot.PasswordHashOf(mailbox) is not { } hash || !PasswordHash.Verify(password, hash))
        {
            return ValueTask.FromResult<AuthenticatedUser?>(null);
        }
        return ValueTask.FromResult<AuthenticatedUser?>(new AuthenticatedUser(userName, mailbox.PrimarySmtpAddress, mailbox.Guid));
    }
}
