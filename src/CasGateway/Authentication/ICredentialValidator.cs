namespace CasGateway.Authentication;

/// <summary>Checks a user name and password (HTTP Basic, IMAP LOGIN, POP3 USER/PASS, SASL PLAIN).</summary>
public interface ICredentialValidator
{
    /// <summary>The authenticated user, or null when the credentials are wrong.</summary>
    ValueTask<AuthenticatedUser?> ValidateAsync(string userName, string password, CancellationToken cancellationToken);
}

/// <summary>Who the caller is once credentials check out.</summary>
public sealed record AuthenticatedUser(string UserName, string PrimarySmtpAddress, Guid MailboxGuid);
