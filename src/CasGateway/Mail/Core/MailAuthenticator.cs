using CasGateway.Authentication;

namespace CasGateway.Mail.Core;

/// <summary>Who logged in at the front door: the name they gave, their mailbox address, and how (LOGIN, PLAIN, XOAUTH2…).</summary>
public sealed record MailUser(string LoginName, string Address, string Method);

public enum AuthStatus
{
    Success,

    /// <summary>Wrong credentials or a refused token: a failed attempt.</summary>
    Failed,

    /// <summary>The client cancelled the exchange with <c>*</c>.</summary>
    Cancelled,

    /// <summary>The client response is not valid base64 or not a valid message of the mechanism.</summary>
    Malformed,

    /// <summary>The connection broke during the exchange (see <see cref="AuthResult.Line"/>).</summary>
    Broken,

    /// <summary>Refused before the password was checked: back-off or lockout (see <see cref="AuthResult.RetryAfterSeconds"/>).</summary>
    Refused,

    /// <summary>Password hashing at capacity: try again shortly; not a failed attempt.</summary>
    Busy,

    /// <summary>The directory cannot be reached: try again later; not a failed attempt.</summary>
    Unavailable,
}

/// <summary>The outcome of a login; <see cref="Claimed"/> is the user name a failed login gave (for the log).</summary>
public readonly record struct AuthResult(
    AuthStatus Status, MailUser? User = null, string? Claimed = null, string? Problem = null, LineStatus Line = LineStatus.Line, int RetryAfterSeconds = 0);

/// <summary>
/// Checks a mail client's credentials: passwords through the same <see cref="PasswordSignIn"/> as HTTP Basic (so the
/// failed-login limiter counts every protocol together), bearer tokens with the same validation as the HTTP bearer
/// scheme; runs SASL exchanges for IMAP, POP3 and SMTP alike (each frames a challenge as one line, <c>+ base64</c> or
/// <c>334 base64</c>, and the client's answer as one base64 line, <c>*</c> to cancel).
/// </summary>
public sealed class MailAuthenticator(PasswordSignIn signIn, BearerTokenValidator bearer)
{
    public Task<bool> BearerEnabledAsync() => bearer.IsEnabledAsync();

    public async Task<AuthResult> CheckPasswordAsync(MailClient client, MailProtocol protocol, string userName, string password, string method)
    {
        var result = await signIn.SignInAsync(userName, password, client.RemoteEndPoint?.Address, protocol.ToString(), client.Closed);
        return result.Status switch
        {
            SignInStatus.Success => new AuthResult(AuthStatus.Success, new MailUser(userName, result.User!.PrimarySmtpAddress, method)),
            SignInStatus.Failed => new AuthResult(AuthStatus.Failed, Claimed: userName, Problem: "wrong user name or password"),
            SignInStatus.Refused => new AuthResult(AuthStatus.Refused, Claimed: userName, Problem: "too many failed logins", RetryAfterSeconds: result.RetryAfterSeconds),
            SignInStatus.Unavailable => new AuthResult(AuthStatus.Unavailable, Claimed: userName, Problem: "the directory cannot be reached", RetryAfterSeconds: result.RetryAfterSeconds),
            _ => new AuthResult(AuthStatus.Busy, Claimed: userName, Problem: "password hashing at capacity", RetryAfterSeconds: result.RetryAfterSeconds),
        };
    }

    /// <summary>
    /// Runs one SASL exchange; <paramref name="initialResponse"/> is the SASL-IR argument, if the client sent one;
    /// <paramref name="challenge"/> starts each challenge line (<c>+ </c> in IMAP and POP3, <c>334 </c> in SMTP).
    /// </summary>
    public async Task<AuthResult> AuthenticateAsync(MailClient client, MailProtocol protocol, SaslMechanism mechanism, string? initialResponse, MailOptions limits, string challenge = "+ ")
    {
        var response = initialResponse;
        if (response is null)
        {
            await client.SendAsync(challenge + "\r\n");
            var line = await client.ReadLineAsync(limits.MaxLineLength, limits.PreLoginIdleTimeout);
            if (line.Status != LineStatus.Line)
            {
                return new AuthResult(AuthStatus.Broken, Line: line.Status);
            }
            response = line.Text;
        }
        if (response == "*")
        {
            return new AuthResult(AuthStatus.Cancelled);
        }
        if (!SaslMessages.TryDecodeBase64(response, out var message))
        {
            return new AuthResult(AuthStatus.Malformed);
        }
        var name = mechanism.ToString().ToUpperInvariant();
        switch (mechanism)
        {
            case SaslMechanism.Plain:
                return SaslMessages.TryParsePlain(message, out var user, out var password)
                    ? await CheckPasswordAsync(client, protocol, user, password, name)
                    : new AuthResult(AuthStatus.Malformed);
            case SaslMechanism.XOAuth2 when SaslMessages.TryParseXOAuth2(message, out var claimed, out var token):
                return await CheckTokenAsync(client, mechanism, claimed, token, limits, challenge);
            case SaslMechanism.OAuthBearer when SaslMessages.TryParseOAuthBearer(message, out var claimed, out var token):
                return await CheckTokenAsync(client, mechanism, claimed, token, limits, challenge);
            default:
                return new AuthResult(AuthStatus.Malformed);
        }
    }

    private async Task<AuthResult> CheckTokenAsync(MailClient client, SaslMechanism mechanism, string? claimedUser, string token, MailOptions limits, string challenge)
    {
        var check = await bearer.ValidateAsync(token, client.Closed);
        if (check.Unavailable)
        {
            return new AuthResult(AuthStatus.Unavailable, Claimed: claimedUser, Problem: check.Problem, RetryAfterSeconds: PasswordSignIn.UnavailableRetryAfterSeconds);
        }
        if (check.Address is { } address)
        {
            if (claimedUser is null || string.Equals(claimedUser, address, StringComparison.OrdinalIgnoreCase))
            {
                return new AuthResult(AuthStatus.Success, new MailUser(claimedUser ?? address, address, mechanism.ToString().ToUpperInvariant()));
            }
            check = new TokenCheck(null, "the token is for another user");
        }
        // RFC 7628 §3.2.2: the error comes as a challenge, the client answers with a dummy response, then the failure.
        await client.SendAsync(challenge + SaslMessages.TokenErrorChallenge(mechanism) + "\r\n");
        var line = await client.ReadLineAsync(limits.MaxLineLength, limits.PreLoginIdleTimeout);
        return line.Status == LineStatus.Line
            ? new AuthResult(AuthStatus.Failed, Claimed: claimedUser, Problem: check.Problem)
            : new AuthResult(AuthStatus.Broken, Line: line.Status);
    }
}
