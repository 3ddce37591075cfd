using System.Security.Claims;
using CasGateway.Location;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// Browser sign-in at an OpenID Connect provider with ASP.NET Core's generic handler: authorization code flow with
/// PKCE, the ID token checked against the provider's discovery document and keys (issuer, audience = client id,
/// signature, lifetime, nonce), state protected by the gateway's key ring. Microsoft.Identity.Web is not used here:
/// its issuer validation accepts only Entra ID issuers (it needs a tenant id claim), and any standard provider,
/// Entra ID included, works with the generic handler.
/// </summary>
internal static partial class OpenIdConnectSignIn
{
    /// <summary>Claims kept in the session cookie: enough to name the user and find the mailbox, nothing more.</summary>
    private static readonly string[] KeptClaims = ["sub", "iss", "name", "preferred_username", "email", "upn"];

    public static AuthenticationBuilder AddGatewayOpenIdConnect(this AuthenticationBuilder authentication, OpenIdConnectSignInOptions settings)
        => authentication.AddOpenIdConnect(BrowserSession.OpenIdConnectMethod, o =>
        {
            o.Authority = settings.Authority!.ToString();
            o.ClientId = settings.ClientId;
            if (settings.ClientSecret.Length > 0)
            {
                o.ClientSecret = settings.ClientSecret;
            }
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.UsePkce = true;
            o.CallbackPath = BrowserSession.OpenIdConnectCallbackPath;
            o.SignInScheme = BrowserSession.Scheme;
            o.MapInboundClaims = false;
            o.SaveTokens = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.DisableTelemetry = true;
            o.Scope.Clear();
            foreach (var scope in new[] { "openid", "profile", "email" }.Concat(settings.Scopes).Distinct(StringComparer.Ordinal))
            {
                o.Scope.Add(scope);
            }
            o.Events.OnTokenValidated = async context =>
            {
                var principal = SessionPrincipal(context.Principal!);
                try
                {
                    await AddMailboxAsync(principal, context.HttpContext.RequestServices.GetRequiredService<IMailboxLocator>(), context.HttpContext.RequestAborted);
                    context.Principal = principal;
                }
                catch (LocatorUnavailableException)
                {
                    context.Fail("The mailbox directory cannot be reached.");
                }
            };
            o.Events.OnRemoteFailure = RefuseAsync;
        });

    /// <summary>
    /// Sends the browser to the provider, to come back to <paramref name="returnUrl"/>. When the provider's discovery
    /// document cannot be had (provider down, bad metadata), a page says so with 503 instead of an error page.
    /// </summary>
    public static async Task ChallengeAsync(HttpContext context, string returnUrl)
    {
        try
        {
            await context.ChallengeAsync(BrowserSession.OpenIdConnectMethod, new AuthenticationProperties { RedirectUri = returnUrl });
        }
        catch (InvalidOperationException ex) when (!context.Response.HasStarted)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenIdConnectSignIn));
            LogUnreachable(logger, ex.Message);
            context.Response.Clear();
            var organization = context.RequestServices.GetRequiredService<IOptions<BrowserSignInOptions>>().Value.Forms.OrganizationName;
            await BrowserSignInEndpoints.Page(context, StatusCodes.Status503ServiceUnavailable,
                    SignInPages.Failed(organization, "Your identity provider cannot be reached right now. Please try again in a few minutes."))
                .ExecuteAsync(context);
        }
    }

    /// <summary>
    /// The session's principal: the provider's user-name claims (preferred_username, upn, email); the name is the
    /// address whose mailbox <see cref="AddMailboxAsync"/> looks up.
    /// </summary>
    private static ClaimsPrincipal SessionPrincipal(ClaimsPrincipal provider)
    {
        var claims = provider.Claims.Where(c => KeptClaims.Contains(c.Type)).Select(c => new Claim(c.Type, c.Value)).ToList();
        var name = provider.FindFirstValue("preferred_username") ?? provider.FindFirstValue("upn")
            ?? provider.FindFirstValue("email") ?? provider.FindFirstValue("sub") ?? "";
        claims.Add(new Claim(ClaimTypes.Name, name));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, BrowserSession.OpenIdConnectMethod));
    }

    /// <summary>
    /// The mailbox the signed-in user names (the organisation's own provider, configured as the one issuer, vouches
    /// for the address), looked up once at sign-in through the location cache and kept in the session as the same
    /// claims every other scheme carries; a user the directory does not know gets a session without a mailbox (403).
    /// </summary>
    private static async Task AddMailboxAsync(ClaimsPrincipal principal, IMailboxLocator locator, CancellationToken cancellationToken)
    {
        if (!Anchoring.AnchorMailbox.TryParse(principal.Identity?.Name, out var anchor) || anchor.Value.Kind != Anchoring.AnchorKind.Smtp
            || await locator.LocateAsync(anchor.Value, cancellationToken) is not { } location)
        {
            return;
        }
        principal.AddIdentity(new ClaimsIdentity(
        [
            new Claim(GatewayClaims.PrimarySmtpAddress, location.Mailbox.PrimarySmtpAddress),
            new Claim(GatewayClaims.MailboxGuid, location.Mailbox.Guid.ToString()),
        ]));
    }

    /// <summary>
    /// A callback that fails (state altered or replayed, token for another audience, provider error): a page
    /// saying so, status 400, no session, and a log line with the reason (never shown to the browser).
    /// </summary>
    private static async Task RefuseAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenIdConnectSignIn));
        LogRefused(logger, http.Connection.RemoteIpAddress?.ToString(), context.Failure?.Message ?? "unknown");
        var organization = http.RequestServices.GetRequiredService<IOptions<BrowserSignInOptions>>().Value.Forms.OrganizationName;
        await BrowserSignInEndpoints.Page(http, StatusCodes.Status400BadRequest,
                SignInPages.Failed(organization, "Sign-in at your identity provider could not be completed. Please try again."))
            .ExecuteAsync(http);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "OpenID Connect provider unreachable: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OpenID Connect sign-in from {ClientIp} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string? clientIp, string reason);
}
