using CasGateway.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Identity.Web;

namespace CasGateway.Authentication;

public static class AuthenticationStage
{
    /// <summary>The policy every family route requires: authenticated by any enabled scheme.</summary>
    public const string MailboxPolicy = "Mailbox";

    /// <summary>
    /// Bearer tokens through Microsoft.Identity.Web when <c>AzureAd:ClientId</c> is set, and Basic against the
    /// credential validator when enabled. Unauthenticated requests get one challenge per enabled scheme.
    /// </summary>
    public static WebApplicationBuilder AddGatewayAuthentication(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<GatewayAuthenticationOptions>(GatewayAuthenticationOptions.Section);
        services.AddSingleton<DirectoryCredentialValidator>();
        services.AddSingleton<ICredentialValidator>(sp => ActivatorUtilities.CreateInstance<CachingCredentialValidator>(
            sp, sp.GetRequiredService<DirectoryCredentialValidator>()));

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
        }
        var policy = new AuthorizationPolicyBuilder([.. schemes]).RequireAuthenticatedUser().Build();
        services.AddAuthorizationBuilder()
            .AddPolicy(MailboxPolicy, policy)
            .SetFallbackPolicy(policy);
        return builder;
    }
}
