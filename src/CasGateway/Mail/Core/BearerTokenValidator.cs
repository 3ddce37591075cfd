using System.Security.Claims;
using CasGateway.Authentication;
using CasGateway.Location;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CasGateway.Mail.Core;

/// <summary>
/// The answer to a bearer token: the caller's address, or why the token was refused; <see cref="Unavailable"/> when
/// the token was valid but the directory could not be asked for its mailbox (a temporary failure, not a failed login).
/// </summary>
public readonly record struct TokenCheck(string? Address, string? Problem, bool Unavailable = false);

/// <summary>
/// Validates bearer tokens carried by SASL XOAUTH2/OAUTHBEARER exactly as the HTTP path does: the options of the
/// <c>Bearer</c> scheme configured by Microsoft.Identity.Web (issuer metadata, signing keys, its issuer validator,
/// audience, lifetime) and its token handlers, plus its rule that a web-API token must carry a scope or a role.
/// </summary>
public sealed class BearerTokenValidator(IOptionsMonitor<JwtBearerOptions> options, IAuthenticationSchemeProvider schemes, BearerMailboxMapper mailboxes)
{
    private static readonly string[] ScopeOrRoleClaims =
        ["scp", "http://schemas.microsoft.com/identity/claims/scope", "roles", "role", ClaimTypes.Role];

    /// <summary>Whether bearer tokens are accepted at all (<c>AzureAd:ClientId</c> configured).</summary>
    public async Task<bool> IsEnabledAsync()
        => await schemes.GetSchemeAsync(JwtBearerDefaults.AuthenticationScheme) is not null;

    public async Task<TokenCheck> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var bearer = options.Get(JwtBearerDefaults.AuthenticationScheme);
        var parameters = bearer.TokenValidationParameters.Clone();
        if (bearer.ConfigurationManager is BaseConfigurationManager manager)
        {
            parameters.ConfigurationManager = manager;
        }
        else if (bearer.ConfigurationManager is { } other)
        {
            var configuration = await other.GetConfigurationAsync(cancellationToken);
            parameters.ValidIssuers = [.. parameters.ValidIssuers ?? [], configuration.Issuer];
            parameters.IssuerSigningKeys = [.. parameters.IssuerSigningKeys ?? [], .. configuration.SigningKeys];
        }
        var problem = "no token handler accepted the token";
        foreach (var handler in bearer.TokenHandlers)
        {
            var result = await handler.ValidateTokenAsync(token, parameters);
            if (result.IsValid)
            {
                var principal = new ClaimsPrincipal(result.ClaimsIdentity);
                if (!ScopeOrRoleClaims.Any(type => principal.HasClaim(c => c.Type == type)))
                {
                    return new TokenCheck(null, "the token carries neither a scope nor a role");
                }
                try
                {
                    var (mailbox, mapping) = await mailboxes.MapAsync(principal, cancellationToken);
                    return mailbox is not null ? new TokenCheck(mailbox.PrimarySmtpAddress, null) : new TokenCheck(null, mapping);
                }
                catch (LocatorUnavailableException)
                {
                    return new TokenCheck(null, "the directory cannot be reached", Unavailable: true);
                }
            }
            // Exception types only: their messages may quote the token.
            problem = result.Exception?.GetType().Name ?? problem;
            if (bearer.RefreshOnIssuerKeyNotFound && result.Exception is SecurityTokenSignatureKeyNotFoundException)
            {
                bearer.ConfigurationManager?.RequestRefresh();
            }
        }
        return new TokenCheck(null, problem);
    }
}
