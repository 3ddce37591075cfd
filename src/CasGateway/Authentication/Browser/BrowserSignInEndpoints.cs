using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// The sign-in page (<c>/owa/auth/logon.aspx</c>), the form it posts to (<c>/owa/auth.owa</c>), sign-out
/// (<c>/owa/logoff.owa</c>) and the start of an OpenID Connect sign-in: the paths Exchange's own pages use.
/// </summary>
internal sealed partial class BrowserSignInEndpoints(
    PasswordSignIn passwords,
    IAntiforgery antiforgery,
    IOptions<BrowserSignInOptions> options,
    TimeProvider clock,
    ILogger<BrowserSignInEndpoints> logger)
{
    private const int MaxFormBytes = 16 * 1024;
    private readonly BrowserSignInOptions _options = options.Value;

    public IResult ShowSignIn(HttpContext context)
    {
        var query = context.Request.Query;
        var notice = query["reason"].ToString() switch
        {
            "3" => "Your session has ended. Please sign in again.",
            _ => null,
        };
        return SignInPage(context, StatusCodes.Status200OK, BrowserSession.LocalReturnUrl(query["url"]), notice: notice);
    }

    public async Task<IResult> SignInAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            return SignInPage(context, StatusCodes.Status415UnsupportedMediaType, "/owa/", problem: "Please sign in with the form below.");
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxFormBytes;
        }
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException)
        {
            return SignInPage(context, StatusCodes.Status400BadRequest, "/owa/", problem: "Please sign in with the form below.");
        }
        var returnUrl = BrowserSession.LocalReturnUrl(form["url"]);
        var userName = form["username"].ToString().Trim();
        var password = form["password"].ToString();
        var privateComputer = form["computer"] == "private";
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            LogStaleForm(logger, ClientIp(context));
            return SignInPage(context, StatusCodes.Status400BadRequest, returnUrl, userName, privateComputer,
                "This sign-in page had expired. Please enter your password again.");
        }
        if (userName.Length is 0 or > 256 || password.Length is 0 or > 1024 || userName.Any(char.IsControl))
        {
            return SignInPage(context, StatusCodes.Status200OK, returnUrl, userName.Any(char.IsControl) ? "" : userName, privateComputer,
                "Enter your email address (or user name) and your password.");
        }
        var result = await passwords.SignInAsync(userName, password, context.Connection.RemoteIpAddress, BrowserSession.FormsMethod, context.RequestAborted);
        switch (result.Status)
        {
            case SignInStatus.Failed:
                LogFailed(logger, userName, ClientIp(context));
                return SignInPage(context, StatusCodes.Status200OK, returnUrl, userName, privateComputer,
                    "The user name or password you entered isn't correct. Try entering it again.");
            case SignInStatus.Refused or SignInStatus.Busy or SignInStatus.Unavailable:
                // Refused before the password was checked (back-off, lockout, hashing at capacity): say when to retry.
                context.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return SignInPage(context, result.Status == SignInStatus.Refused ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable,
                    returnUrl, userName, privateComputer,
                    result.Status == SignInStatus.Refused
                        ? $"Too many sign-in attempts. Try again in {Math.Max(1, result.RetryAfterSeconds)} seconds."
                        : $"Sign-in is not available right now. Try again in {Math.Max(1, result.RetryAfterSeconds)} seconds.");
        }
        var principal = PasswordSignIn.PrincipalOf(result.User!, BrowserSession.FormsMethod);
        var now = clock.GetUtcNow();
        var lifetime = privateComputer ? _options.Forms.PrivateSessionLifetime : _options.Forms.PublicSessionLifetime;
        await context.SignInAsync(BrowserSession.Scheme, principal, new AuthenticationProperties
        {
            // A public computer's cookie dies with the browser; a private one's outlives it. Both slide.
            IsPersistent = privateComputer,
            IssuedUtc = now,
            ExpiresUtc = now + lifetime,
            AllowRefresh = true,
        });
        LogSignedIn(logger, userName, ClientIp(context), privateComputer ? "private" : "public");
        context.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(returnUrl);
    }

    public async Task<IResult> SignOutAsync(HttpContext context)
    {
        await context.SignOutAsync(BrowserSession.Scheme);
        return Page(context, StatusCodes.Status200OK, SignInPages.SignedOut(_options.Forms.OrganizationName));
    }

    /// <summary>Starts an OpenID Connect sign-in that comes back to <c>url</c> (a local OWA or ECP path only).</summary>
    public Task StartOpenIdConnectAsync(HttpContext context)
        => OpenIdConnectSignIn.ChallengeAsync(context, BrowserSession.LocalReturnUrl(context.Request.Query["url"]));

    private IResult SignInPage(HttpContext context, int status, string returnUrl, string userName = "", bool privateComputer = false, string? problem = null, string? notice = null)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var model = new SignInPageModel(
            _options.Forms.OrganizationName,
            returnUrl,
            tokens.RequestToken!,
            userName,
            privateComputer,
            problem,
            notice,
            _options.UsesOpenIdConnect() ? _options.OpenIdConnect.DisplayName : null);
        return Page(context, status, SignInPages.SignIn(model));
    }

    /// <summary>A gateway page: never cached, never framed, nothing loaded from elsewhere.</summary>
    internal static IResult Page(HttpContext context, int status, string html)
    {
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store";
        headers.ContentSecurityPolicy = SignInPages.ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static string? ClientIp(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

    [LoggerMessage(Level = LogLevel.Information, Message = "Forms sign-in failed for {UserName} from {ClientIp}")]
    private static partial void LogFailed(ILogger logger, string userName, string? clientIp);

    [LoggerMessage(Level = LogLevel.Information, Message = "Forms sign-in for {UserName} from {ClientIp} ({Computer} computer)")]
    private static partial void LogSignedIn(ILogger logger, string userName, string? clientIp, string computer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sign-in form from {ClientIp} refused: missing or stale antiforgery token")]
    private static partial void LogStaleForm(ILogger logger, string? clientIp);
}
