using CasGateway.Authentication.Browser;
using CasGateway.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Identity.Web;

using CasGateway.Scale;

namespace CasGateway.Authentication;

public static class AuthenticationStage
{
    /// <summary>The policy every family route requires: authenticated by any enabled scheme.</summary>
    public const string MailboxPolicy = "Mailbox";

    /// <summary>
    /// Bearer tokens through Microsoft.Identity.Web when <c>AzureAd:ClientId</c> is set, and Basic against the
    /// credential validator (behind the failed-login limiter shared with the mail protocols) when enabled.
    /// Unauthenticated requests get one challenge per enabled scheme.
    /// </summary>
    public static WebApplicationBuilder AddGatewayAuthentication(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<GatewayAuthenticationOptions>(GatewayAuthenticationOptions.Section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PasswordHashGate>();
        services.AddSingleton<CredentialCheckCache>();
        services.AddSingleton<PasswordVerifier>();
        services.AddSingleton<RecentSignIns>();
        // The store chosen by Gateway:Locator:Kind checks passwords (LocatorKinds registers it under this key).
        services.AddSingleton<ICredentialValidator>(sp => sp.GetRequiredKeyedService<ICredentialValidator>(Location.LocatorKinds.CredentialValidatorKey));
        services.AddSingleton<InMemoryFailedLoginStore>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{Scale.RedisOptions.Section}:Configuration"]))
        {
            // Several nodes: one count per account and source across the fleet.
            services.AddSharedRedis(builder.Configuration);
            services.AddSingleton<IFailedLoginStore, RedisFailedLoginStore>();
        }
        else
        {
            services.AddSingleton<IFailedLoginStore>(sp => sp.GetRequiredService<InMemoryFailedLoginStore>());
        }
        services.AddSingleton<IFailedLoginLimiter, FailedLoginLimiter>();
        services.AddSingleton<PasswordSignIn>();

        services.AddSingleton<BearerMailboxMapper>();
        var authentication = services.AddAuthentication();
        var schemes = new List<string>();
        var settings = builder.Configuration.GetSection(GatewayAuthenticationOptions.Section).Get<GatewayAuthenticationOptions>() ?? new();
        if (settings.BasicEnabled)
        {
            authentication.AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BasicAuthenticationHandler.SchemeName, null);
            schemes.Add(BasicAuthenticationHandler.SchemeName);
        }
        var azureAd = builder.Configuration.GetSection("AzureAd");
        if (!string.IsNullOrEmpty(azureAd["ClientId"]))
        {
            authentication.AddMicrosoftIdentityWebApi(azureAd, JwtBearerDefaults.AuthenticationScheme);
            schemes.Add(JwtBearerDefaults.AuthenticationScheme);
            services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
            {
                var validated = options.Events.OnTokenValidated;
                options.Events.OnTokenValidated = async context =>
                {
                    await validated(context);
                    if (context.Principal is { } principal)
                    {
                        // No mailbox: still authenticated (an admin token may have none), but refused on mailbox routes.
                        context.HttpContext.RequestServices.GetRequiredService<BearerMailboxMapper>().AddMailboxClaims(principal);
                    }
                };
            });
        }
        // Mailbox routes need a caller the directory knows: a bearer token whose object id matches no mailbox gets 403.
        var policy = new AuthorizationPolicyBuilder([.. schemes]).RequireAuthenticatedUser().RequireClaim(GatewayClaims.PrimarySmtpAddress).Build();
        services.AddAuthorizationBuilder()
            .AddPolicy(MailboxPolicy, policy)
            .SetFallbackPolicy(policy);
        builder.AddBrowserSignIn(authentication, schemes);
        return builder;
    }
}
