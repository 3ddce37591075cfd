using Microsoft.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>HTTP Basic against the configured <see cref="ICredentialValidator"/>.</summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    ICredentialValidator validator,
    IOptions<GatewayAuthenticationOptions> gatewayOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "Basic";

    private static readonly object DirectoryUnavailable = new();

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
        AuthenticatedUser? user;
        try
        {
            user = await validator.ValidateAsync(userName, password, Context.RequestAborted);
        }
        catch (Location.LocatorUnavailableException ex)
        {
            // Not the client's fault: the challenge answers 503 with Retry-After instead of asking for a password.
            Logger.LogWarning("Basic authentication of {UserName} impossible, the directory is unavailable: {Problem}", userName, ex.Message);
            Context.Items[DirectoryUnavailable] = true;
            return AuthenticateResult.Fail("The directory is unavailable.");
        }
        if (user is null)
        {
            Logger.LogInformation("Basic authentication failed for {UserName} from {ClientIp}", userName, Context.Connection.RemoteIpAddress);
            return AuthenticateResult.Fail("Invalid user name or password.");
        }
        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, user.UserName),
                new Claim(GatewayClaims.PrimarySmtpAddress, user.PrimarySmtpAddress),
                new Claim(GatewayClaims.MailboxGuid, user.MailboxGuid.ToString()),
            ],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(DirectoryUnavailable))
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            Response.Headers.RetryAfter = "5";
            return Task.CompletedTask;
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.Append(HeaderNames.WWWAuthenticate, $"Basic realm=\"{gatewayOptions.Value.Realm}\", charset=\"UTF-8\"");
        return Task.CompletedTask;
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
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes[..length]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        var colon = text.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }
        userName = text[..colon];
        password = text[(colon + 1)..];
        return true;
    }
}
