using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// Runs when authorization has decided. An authorized request loses the gateway's own cookies (session,
/// antiforgery) before it is forwarded: they are credentials for the gateway, and no backend needs or sees them.
/// What an unauthenticated request to OWA or ECP gets: A page load goes to the sign-in page (or straight to the
/// identity provider when forms are off); a browser's script or form post gets <c>440 Login Timeout</c>, which OWA
/// turns into "sign in again"; any other client (and anyone who sent credentials) keeps the Basic/Bearer 401.
/// </summary>
internal sealed class BrowserAuthorizationResultHandler(IOptions<BrowserSignInOptions> options) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();
    private readonly bool _forms = options.Value.UsesForms();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var request = context.Request;
        if (authorizeResult.Succeeded)
        {
            BrowserSession.RemoveGatewayCookies(request);
        }
        if (!authorizeResult.Challenged || !policy.AuthenticationSchemes.Contains(BrowserSession.Scheme))
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }
        var sentCredentials = request.Headers.ContainsKey(HeaderNames.Authorization);
        if (!sentCredentials && BrowserSession.IsPageRequest(request))
        {
            await SendToSignInAsync(context);
            return;
        }
        if (!sentCredentials && BrowserSession.IsBrowserRequest(request))
        {
            context.Response.StatusCode = BrowserSession.LoginTimeoutStatus;
            context.Response.Headers.CacheControl = "no-store";
            return;
        }
        foreach (var scheme in policy.AuthenticationSchemes.Where(s => s != BrowserSession.Scheme))
        {
            await context.ChallengeAsync(scheme);
        }
    }

    private Task SendToSignInAsync(HttpContext context)
    {
        var request = context.Request;
        var original = request.PathBase + request.Path + request.QueryString;
        if (!_forms)
        {
            return OpenIdConnectSignIn.ChallengeAsync(context, BrowserSession.LocalReturnUrl(original));
        }
        // reason=3: the browser still held a session cookie, so the session ended (Exchange's "timed out").
        var reason = request.Cookies.ContainsKey(BrowserSession.CookieName) ? 3 : 0;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Redirect($"{BrowserSession.SignInPath}?url={Uri.EscapeDataString(original)}&reason={reason}");
        return Task.CompletedTask;
    }
}
