using Microsoft.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>HTTP Basic, checked through <see cref="PasswordSignIn"/> like every HTTP password sign-in.</summary>
public sealed class BasicAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    PasswordSignIn passwords,
    IOptions<GatewayAuthenticationOptions> gatewayOptions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "Basic";

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
        var user = await passwords.CheckAsync(Context, userName, password, SchemeName);
        if (user is null)
        {
            Logger.LogInformation("Basic authentication failed for {UserName} from {ClientIp}", userName, Context.Connection.RemoteIpAddress);
            return AuthenticateResult.Fail("Invalid user name or password.");
        }
        return AuthenticateResult.Success(new AuthenticationTicket(user, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
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
