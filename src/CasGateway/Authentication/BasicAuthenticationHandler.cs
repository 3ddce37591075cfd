using Microsoft.Net.Http.Headers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// HTTP Basic through <see cref="PasswordSignIn"/> (the failed-login limiter, then the credential validator). An
/// attempt refused before its password is checked (back-off or lockout) is answered <c>429 Too Many Requests</c> with
/// <c>Retry-After</c> and no Basic challenge, so a client does not prompt for a password that would be refused
/// anyway; the limiter counts unknown accounts like known ones, so this answer tells nothing about who exists.
/// Hashing at capacity is answered <c>503</c> with <c>Retry-After</c>.
/// </summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    PasswordSignIn signIn,
    IOptions<GatewayAuthenticationOptions> gatewayOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "Basic";

    /// <summary>Strict: invalid UTF-8 is malformed credentials, never replaced. Thread-safe, so one for all requests.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>The refusal of this request's sign-in, for the challenge to answer with.</summary>
    private SignInResult? _refusal;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        if (!TryDecode(header.AsSpan(6).Trim(), out var userName, out var password))
        {
            Logger.LogInformation("Malformed Basic credentials from {ClientIp}", Context.Connection.RemoteIpAddress);
            return AuthenticateResult.Fail("Malformed Basic credentials.");
        }
        var result = await signIn.SignInAsync(userName, password, Context.Connection.RemoteIpAddress, SchemeName, Context.RequestAborted);
        switch (result.Status)
        {
            case SignInStatus.Failed:
                Logger.LogInformation("Basic authentication failed for {UserName} from {ClientIp}", userName, Context.Connection.RemoteIpAddress);
                return AuthenticateResult.Fail("Invalid user name or password.");
            case SignInStatus.Refused or SignInStatus.Busy or SignInStatus.Unavailable:
                _refusal = result;
                return AuthenticateResult.Fail("Sign-in refused before the password check.");
        }
        return AuthenticateResult.Success(new AuthenticationTicket(result.User!.SharedPrincipal(SchemeName), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_refusal is { } refusal)
        {
            // Set now, and again when the response starts so that a later challenge (Bearer's 401) cannot turn it into a prompt.
            Refuse(refusal);
            Response.OnStarting(() =>
            {
                Refuse(refusal);
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, $"Basic realm=\"{gatewayOptions.Value.Realm}\", charset=\"UTF-8\"");
        return Task.CompletedTask;
    }

    private void Refuse(SignInResult refusal)
    {
        Response.StatusCode = refusal.Status == SignInStatus.Refused ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable;
        Response.Headers.Remove(HeaderNames.WWWAuthenticate);
        Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
    }

    private static bool TryDecode(ReadOnlySpan<char> encoded, out string userName, out string password)
    {
        userName = password = "";
        if (encoded.Length is 0 or > 4096)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, bytes, out var length))
        {
            return false;
        }
        // ':' is one byte that never occurs inside a multi-byte UTF-8 sequence: split first, then decode each part
        // (the whole is valid UTF-8 exactly when both parts are).
        bytes = bytes[..length];
        var colon = bytes.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }
        try
        {
            userName = StrictUtf8.GetString(bytes[..colon]);
            password = StrictUtf8.GetString(bytes[(colon + 1)..]);
        }
        catch (DecoderFallbackException)
        {
            userName = password = "";
            return false;
        }
        return true;
    }
}
