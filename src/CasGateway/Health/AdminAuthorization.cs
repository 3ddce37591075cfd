using System.Security.Claims;
using System.Security.Cryptography;
using CasGateway.Authentication;
using CasGateway.Listeners;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>Who may change component states: an admin role in a bearer token, a listed Basic user, or a listed client certificate.</summary>
public sealed class HealthAdminRequirement : IAuthorizationRequirement
{
    public const string Policy = "HealthAdmin";
}

public sealed class HealthAdminHandler(IOptions<HealthOptions> options) : AuthorizationHandler<HealthAdminRequirement>
{
    private static readonly string[] RoleClaimTypes = ["roles", "role", ClaimTypes.Role];

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, HealthAdminRequirement requirement)
    {
        if (context.Resource is HttpContext http && AdminName(http, options.Value) is not null)
        {
            context.Succeed(requirement);
        }
        return Task.CompletedTask;
    }

    /// <summary>The admin's name for logs and the state file (<c>certificate:&lt;thumbprint&gt;</c> for certificates), or null.</summary>
    public static string? AdminName(HttpContext http, HealthOptions options)
    {
        var user = http.User;
        if (user.Identity?.IsAuthenticated == true)
        {
            var role = options.AdminRole;
            if (role.Length > 0 && user.Claims.Any(c => RoleClaimTypes.Contains(c.Type) && c.Value == role))
            {
                return user.Identity.Name ?? GatewayClaims.AddressOf(user) ?? "(bearer admin)";
            }
            if (user.Identity.AuthenticationType == BasicAuthenticationHandler.SchemeName
                && user.Identity.Name is { } name
                && options.AdminUsers.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return name;
            }
        }
        if (http.Connection.ClientCertificate is { } certificate && options.AdminCertificateThumbprints.Count > 0)
        {
            var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            if (options.AdminCertificateThumbprints.Contains(thumbprint, StringComparer.OrdinalIgnoreCase))
            {
                return "certificate:" + thumbprint;
            }
        }
        return null;
    }
}

/// <summary>
/// When admin certificates are configured, the client listener asks for an optional client certificate; any is
/// accepted at the handshake and only a listed thumbprint makes its holder an admin.
/// </summary>
public sealed class AdminCertificateHook(IOptions<HealthOptions> options) : IClientListenerHook
{
    public void Configure(ListenOptions listen, HttpsConnectionAdapterOptions https, ClientListenerKind kind)
    {
        // Admin endpoints are HTTP only: mail clients are never asked for a certificate.
        if (kind == ClientListenerKind.Http && options.Value.AdminCertificateThumbprints.Count > 0)
        {
            https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            https.ClientCertificateValidation = (_, _, _) => true;
        }
    }
}
