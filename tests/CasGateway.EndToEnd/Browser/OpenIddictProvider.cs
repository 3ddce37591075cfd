using System.Net;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace CasGateway.EndToEnd.Browser;

/// <summary>
/// A real OpenID Connect provider in the test process: OpenIddict's server over HTTPS on 127.0.0.1 (reached as
/// <c>localhost</c>, the name on its certificate, which the test run trusts through SSL_CERT_FILE), ephemeral keys,
/// the authorization code flow with PKCE required, one confidential client. Degraded mode: no database; the client
/// and its redirect URI are checked by the handlers below. The user who signs in is the one the test names (the
/// provider's own login page is not what is under test).
/// </summary>
public sealed class OpenIddictProvider : IAsyncDisposable
{
    public const string ClientId = "casgateway-owa";
    public const string ClientSecret = "test-client-secret-4f7e";

    private readonly WebApplication _app;

    private OpenIddictProvider(WebApplication app, Uri issuer)
    {
        _app = app;
        Issuer = issuer;
    }

    public Uri Issuer { get; }

    /// <summary>The user the next authorization request signs in as.</summary>
    public string NextUser { get; set; } = "alice@contoso.com";

    /// <summary>When set, ID tokens are issued for another client (a token meant for someone else).</summary>
    public bool WrongAudience { get; set; }

    /// <summary>The redirect URI the client registered (set once the gateway's address is known).</summary>
    public Uri? RegisteredRedirectUri { get; set; }

    public static async Task<OpenIddictProvider> StartAsync()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestCerts");
        using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(folder, "oidc-localhost.pem"), Path.Combine(folder, "oidc-localhost.key"));
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        OpenIddictProvider? self = null;
        builder.Services.AddOpenIddict().AddServer(options =>
        {
            options.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
            options.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            options.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.Email);
            options.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
            options.EnableDegradedMode();
            options.UseAspNetCore();
            options.AddEventHandler<ValidateAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client.");
                }
                else if (context.RedirectUri != self!.RegisteredRedirectUri?.ToString())
                {
                    context.Reject(Errors.InvalidRequest, "Unregistered redirect_uri.");
                }
                return default;
            }));
            options.AddEventHandler<ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId || context.ClientSecret != ClientSecret)
                {
                    context.Reject(Errors.InvalidClient, "Client authentication failed.");
                }
                return default;
            }));
            options.AddEventHandler<HandleAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var user = self!.NextUser;
                var identity = new ClaimsIdentity("OpenIddict", Claims.Name, Claims.Role);
                identity.SetClaim(Claims.Subject, "sub-" + user)
                    .SetClaim(Claims.PreferredUsername, user)
                    .SetClaim(Claims.Email, user)
                    .SetClaim(Claims.Name, user);
                identity.SetScopes(context.Request.GetScopes());
                identity.SetDestinations(_ => [Destinations.IdentityToken, Destinations.AccessToken]);
                context.SignIn(new ClaimsPrincipal(identity));
                return default;
            }));
            options.AddEventHandler<ProcessSignInContext>(handler => handler
                .UseInlineHandler(context =>
                {
                    if (self!.WrongAudience && context.IdentityTokenPrincipal is { } principal)
                    {
                        principal.SetAudiences("another-application");
                    }
                    return default;
                })
                .SetOrder(OpenIddictServerHandlers.PrepareIdentityTokenPrincipal.Descriptor.Order + 1));
        });
        var app = builder.Build();
        app.UseAuthentication();
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        self = new OpenIddictProvider(app, new Uri($"https://localhost:{port}/"));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
