using System.Net;

namespace CasGateway.Authentication;

/// <summary>How a password sign-in ended.</summary>
public enum SignInStatus
{
    Success,

    /// <summary>Wrong user name or password (counted as a failed login).</summary>
    Failed,

    /// <summary>Refused before the password was checked: back-off or lockout (see <see cref="SignInResult.RetryAfterSeconds"/>).</summary>
    Refused,

    /// <summary>Password hashing at capacity: not checked, not counted; try again shortly.</summary>
    Busy,

    /// <summary>The directory cannot be reached: not checked, not counted; try again later.</summary>
    Unavailable,
}

/// <summary>The outcome of <see cref="PasswordSignIn.SignInAsync"/>.</summary>
public readonly record struct SignInResult(SignInStatus Status, AuthenticatedUser? User = null, int RetryAfterSeconds = 0);

/// <summary>
/// A password login for any protocol (HTTP Basic, IMAP, POP3, SMTP AUTH): the failed-login limiter is asked first,
/// then the credential validator, and the outcome is recorded. The one call protocol code makes for a password.
/// </summary>
public sealed partial class PasswordSignIn(ICredentialValidator credentials, IFailedLoginLimiter limiter, TimeProvider clock, Observability.GatewayMetrics metrics, ILogger<PasswordSignIn> logger)
{
    /// <summary>The seconds a client is asked to wait when hashing is at capacity.</summary>
    public const int BusyRetryAfterSeconds = 1;

    /// <summary>The seconds a client is asked to wait while the directory cannot be reached.</summary>
    public const int UnavailableRetryAfterSeconds = 5;

    /// <param name="source">The client's address (after trusted proxies and PROXY protocol), null when unknown.</param>
    /// <param name="protocol">For logs and metrics: <c>Basic</c>, <c>Imap</c>, <c>Pop3</c>, <c>Smtp</c>.</param>
    public async ValueTask<SignInResult> SignInAsync(string userName, string password, IPAddress? source, string protocol, CancellationToken cancellationToken)
    {
        var permit = await limiter.CheckAsync(userName, source, protocol, cancellationToken);
        if (!permit.Allowed)
        {
            return new SignInResult(SignInStatus.Refused, RetryAfterSeconds: permit.RetryAfterSeconds(clock.GetUtcNow()));
        }
        var check = await credentials.ValidateAsync(userName, password, cancellationToken);
        // Recorded even if the client has gone meanwhile: hanging up must not make a guess free.
        switch (check.Status)
        {
            case CredentialStatus.Valid:
                if (permit.AccountHasFailures)
                {
                    await limiter.RecordSuccessAsync(userName, CancellationToken.None);
                }
                return new SignInResult(SignInStatus.Success, check.User);
            case CredentialStatus.Invalid:
                await limiter.RecordFailureAsync(userName, source, protocol, CancellationToken.None);
                return new SignInResult(SignInStatus.Failed);
            case CredentialStatus.Unavailable:
                metrics.RecordLoginRefusal(protocol, "unavailable");
                return new SignInResult(SignInStatus.Unavailable, RetryAfterSeconds: UnavailableRetryAfterSeconds);
            default:
                metrics.RecordLoginRefusal(protocol, "busy");
                LogBusy(logger, protocol, userName, source?.ToString() ?? "(unknown)");
                return new SignInResult(SignInStatus.Busy, RetryAfterSeconds: BusyRetryAfterSeconds);
        }
    }

    /// <summary>The gateway's principal for a signed-in user; <paramref name="method"/> is what backends see as the authentication method.</summary>
    public static System.Security.Claims.ClaimsPrincipal PrincipalOf(AuthenticatedUser user, string method)
        => new(new System.Security.Claims.ClaimsIdentity(ClaimsOf(user), method));

    /// <summary>The claims of a signed-in user's principal: name, primary SMTP address, mailbox GUID.</summary>
    internal static System.Security.Claims.Claim[] ClaimsOf(AuthenticatedUser user)
        =>
        [
            new(System.Security.Claims.ClaimTypes.Name, user.UserName),
            new(GatewayClaims.PrimarySmtpAddress, user.PrimarySmtpAddress),
            new(GatewayClaims.MailboxGuid, user.MailboxGuid.ToString()),
        ];

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Protocol} login for {UserName} from {ClientIp} refused: password hashing at capacity")]
    private static partial void LogBusy(ILogger logger, string protocol, string userName, string clientIp);
}
