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

/// <summary>
/// Who the caller is once credentials check out. Validators that remember a good check hand back the remembered
/// instance while the directory still describes the user the same way, so <see cref="SharedPrincipal"/> is built once
/// per user and cache lifetime instead of once per request. Equal when the three values are.
/// </summary>
public sealed record AuthenticatedUser(string UserName, string PrimarySmtpAddress, Guid MailboxGuid)
{
    private Shared? _shared;

    /// <summary>
    /// This user's principal for <paramref name="method"/> (what backends see as the authentication method), shared by
    /// every request signed in with this instance: read-only (<see cref="ReadOnlyPrincipal"/>), so no request can change
    /// what another sees; never shared between users, since each instance is one user's.
    /// </summary>
    public System.Security.Claims.ClaimsPrincipal SharedPrincipal(string method)
    {
        var shared = Volatile.Read(ref _shared);
        if (shared is null || !string.Equals(shared.Method, method, StringComparison.Ordinal))
        {
            shared = new Shared(method, ReadOnlyPrincipal.Of(this, method));
            Volatile.Write(ref _shared, shared);
        }
        return shared.Principal;
    }

    public bool Equals(AuthenticatedUser? other)
        => other is not null
            && string.Equals(UserName, other.UserName, StringComparison.Ordinal)
            && string.Equals(PrimarySmtpAddress, other.PrimarySmtpAddress, StringComparison.Ordinal)
            && MailboxGuid == other.MailboxGuid;

    public override int GetHashCode() => HashCode.Combine(UserName, PrimarySmtpAddress, MailboxGuid);

    private sealed record Shared(string Method, System.Security.Claims.ClaimsPrincipal Principal);
}
