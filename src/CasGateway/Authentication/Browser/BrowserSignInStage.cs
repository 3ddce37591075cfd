using CasGateway.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Yarp.ReverseProxy.Configuration;

namespace CasGateway.Authentication.Browser;

public static class BrowserSignInStage
{
    /// <summary>
    /// When <c>Gateway:Authentication:Browser</c> is not <c>None</c>: the browser session cookie (protected by the
    /// gateway's Data Protection key ring, so every node sharing the ring reads it), the sign-in ways chosen, and
    /// the OWA/ECP policy that accepts the session beside <paramref name="schemes"/> (Basic, Bearer).
    /// </summary>
    public static WebApplicationBuilder AddBrowserSignIn(this WebApplicationBuilder builder, AuthenticationBuilder authentication, IReadOnlyList<string> schemes)
    {
        var services = builder.Services;
        services.AddValidatedOptions<BrowserSignInOptions>(GatewayAuthenticationOptions.Section);
        var settings = builder.Configuration.GetSection(GatewayAuthenticationOptions.Section).Get<BrowserSignInOptions>() ?? new();
        if (settings.Browser == BrowserSignInMode.None)
        {
            return builder;
        }
        services.AddSingleton<BrowserSignInEndpoints>();
        services.AddSingleton<IProxyConfigFilter, BrowserRouteFilter>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, BrowserAuthorizationResultHandler>();
        services.TryAddTransient<PolicyEvaluator>();
        services.Replace(ServiceDescriptor.Transient<IPolicyEvaluator, BrowserPolicyEvaluator>());
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = BrowserSession.AntiforgeryCookieName;
            o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.SuppressXFrameOptionsHeader = true;
        });
        authentication.AddCookie(BrowserSession.Scheme, o =>
        {
            o.Cookie.Name = BrowserSession.CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            // Lax: sent when the user follows a link to OWA from elsewhere, never on another site's POST.
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.Path = "/";
            // Sign-ins that set no expiry of their own (OpenID Connect) get the public computer's length.
            o.ExpireTimeSpan = settings.Forms.PublicSessionLifetime;
            o.SlidingExpiration = true;
            // The scheme is never challenged itself (BrowserAuthorizationResultHandler answers); if it were, to the page.
            // No LogoutPath: it would make sign-out follow a ?url= instead of showing the signed-out page.
            o.LoginPath = BrowserSession.SignInPath;
            o.ReturnUrlParameter = "url";
        });
        if (settings.UsesOpenIdConnect())
        {
            authentication.AddGatewayOpenIdConnect(settings.OpenIdConnect);
        }
        services.AddAuthorizationBuilder().AddPolicy(BrowserSession.Policy,
            new AuthorizationPolicyBuilder([.. schemes, BrowserSession.Scheme]).RequireAuthenticatedUser().Build());
        return builder;
    }

    /// <summary>The sign-in, sign-out and OpenID Connect start endpoints (anonymous: they are how one signs in).</summary>
    public static WebApplication MapBrowserSignIn(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BrowserSignInOptions>>().Value;
        if (settings.Browser == BrowserSignInMode.None)
        {
            return app;
        }
        var endpoints = app.Services.GetRequiredService<BrowserSignInEndpoints>();
        if (settings.UsesForms())
        {
            app.MapGet(BrowserSession.SignInPath, (Delegate)endpoints.ShowSignIn).AllowAnonymous();
            app.MapPost(BrowserSession.SignInPostPath, (Delegate)endpoints.SignInAsync).AllowAnonymous();
        }
        if (settings.UsesOpenIdConnect())
        {
            app.MapGet(BrowserSession.OpenIdConnectStartPath, (RequestDelegate)endpoints.StartOpenIdConnectAsync).AllowAnonymous();
        }
        app.MapMethods(BrowserSession.SignOutPath, [HttpMethods.Get, HttpMethods.Post], (Delegate)endpoints.SignOutAsync).AllowAnonymous();
        return app;
    }
}
