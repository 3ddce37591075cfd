namespace CasGateway.Authentication;

/// <summary>
/// Checks a user name and password (HTTP Basic, IMAP LOGIN, POP3 USER/PASS, SASL PLAIN). Protocol code calls
/// <see cref="PasswordSignIn"/>, which puts the failed-login limiter around this.
/// </summary>
public interface ICredentialValidator
{
    /// <summary>
    /// Whether the credentials are good; <see cref="CredentialStatus.Busy"/> when no hashing slot became free in time
    /// (<see cref="FailedLoginOptions.HashQueueTimeout"/>): neither a failure nor a success, the client should try again.
    /// </summary>
    ValueTask<CredentialCheck> ValidateAsync(string userName, string password, CancellationToken cancellationToken);
}

public enum CredentialStatus
{
    Valid,
    Invalid,
    Busy,

    /// <summary>The directory that holds the password cannot be reached (and no recent sign-in vouches for it).</summary>
    Unavailable,
}

/// <summary>The outcome of a credential check; <see cref="User"/> is set when <see cref="CredentialStatus.Valid"/>.</summary>
public readonly record struct CredentialCheck(CredentialStatus Status, AuthenticatedUser? User = null)
{
    public static readonly CredentialCheck Invalid = new(CredentialStatus.Invalid);
    public static readonly CredentialCheck Busy = new(CredentialStatus.Busy);
    public static readonly CredentialCheck Unavailable = new(CredentialStatus.Unavailable);
}

/// <summary>Who the caller is once credentials check out.</summary>
public sealed record AuthenticatedUser(string UserName, string PrimarySmtpAddress, Guid MailboxGuid);
