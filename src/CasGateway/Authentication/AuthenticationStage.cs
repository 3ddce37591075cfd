using CasGateway.Authentication.Browser;
using CasGateway.Configuration;
using CasGateway.Location;
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
                        try
                        {
                            // No mailbox: still authenticated (an admin token may have none), but refused on mailbox routes.
                            await context.HttpContext.RequestServices.GetRequiredService<BearerMailboxMapper>().AddMailboxClaimsAsync(principal, context.HttpContext.RequestAborted);
                        }
                        catch (LocatorUnavailableException)
                        {
                            // As for a password the directory cannot check: 503 with Retry-After, not a 401 that makes clients prompt.
                            context.HttpContext.Items[DirectoryUnavailableKey] = true;
                            context.Fail("The mailbox directory cannot be reached.");
                        }
                    }
                };
                var challenge = options.Events.OnChallenge;
                options.Events.OnChallenge = async context =>
                {
                    if (!context.HttpContext.Items.ContainsKey(DirectoryUnavailableKey))
                    {
                        await challenge(context);
                        return;
                    }
                    context.HandleResponse();
                    // Set now, and again when the response starts so that another scheme's challenge (Basic's 401) cannot undo it.
                    RefuseUnavailable(context.Response);
                    context.Response.OnStarting(() =>
                    {
                        RefuseUnavailable(context.Response);
                        return Task.CompletedTask;
                    });
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

    /// <summary>Marks a request whose bearer token could not be mapped to a mailbox because the directory is down.</summary>
    private static readonly object DirectoryUnavailableKey = new();

    private static void RefuseUnavailable(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers.Remove(Microsoft.Net.Http.Headers.HeaderNames.WWWAuthenticate);
        response.Headers.RetryAfter = PasswordSignIn.UnavailableRetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
