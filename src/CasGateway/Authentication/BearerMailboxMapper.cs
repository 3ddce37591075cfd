using System.Security.Claims;
using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Ties a validated bearer token to a mailbox: the token's tenant (<c>tid</c>) must be the one configured tenant,
/// and its object id (<c>oid</c>) must be a mailbox owner's object id in the directory chosen by
/// <c>Gateway:Locator:Kind</c> (<see cref="IObjectIdDirectory"/>: the file's <c>objectId</c>, SQL's
/// <c>object_id</c>, LDAP's <c>msDS-ExternalDirectoryObjectId</c>). <c>preferred_username</c> names the mailbox only
/// when <c>Gateway:Authentication:BearerUsernameFallback</c> is on — a user name is something another tenant's admin
/// can set, an object id is not.
/// </summary>
public sealed class BearerMailboxMapper(IObjectIdDirectory directory, IMailboxLocator locator, IOptionsMonitor<GatewayAuthenticationOptions> options, IConfiguration configuration)
{
    private static readonly string[] TenantClaims = ["tid", "http://schemas.microsoft.com/identity/claims/tenantid"];
    private static readonly string[] ObjectIdClaims = ["oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"];

    /// <summary>The caller's mailbox, or why there is none (for the log: never the token's content).</summary>
    /// <exception cref="LocatorUnavailableException">The directory cannot answer right now (bounded by the store's own timeouts).</exception>
    public async Task<(Mailbox? Mailbox, string? Problem)> MapAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(configuration["AzureAd:TenantId"], out var tenant) || First(principal, TenantClaims) is not { } tid
            || !Guid.TryParse(tid, out var tokenTenant) || tokenTenant != tenant)
        {
            return (null, "the token is not from the configured tenant");
        }
        if (First(principal, ObjectIdClaims) is { } oid && Guid.TryParse(oid, out var objectId) && objectId != Guid.Empty
            && await directory.FindByObjectIdAsync(objectId, cancellationToken) is { } mailbox)
        {
            return (mailbox, null);
        }
        if (options.CurrentValue.BearerUsernameFallback && AnchorMailbox.TryParse(principal.FindFirstValue("preferred_username"), out var anchor)
            && anchor.Value.Kind == AnchorKind.Smtp && await locator.LocateAsync(anchor.Value, cancellationToken) is { } named)
        {
            return (named.Mailbox, null);
        }
        return (null, "no mailbox has the token's object id");
    }

    /// <summary>Adds the mailbox claims the routing step relies on (<see cref="GatewayClaims"/>) when a mailbox matches.</summary>
    /// <exception cref="LocatorUnavailableException">The directory cannot answer right now.</exception>
    public async Task<string?> AddMailboxClaimsAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        var (mailbox, problem) = await MapAsync(principal, cancellationToken);
        if (mailbox is not null)
        {
            principal.AddIdentity(new ClaimsIdentity(
            [
                new Claim(GatewayClaims.PrimarySmtpAddress, mailbox.PrimarySmtpAddress),
                new Claim(GatewayClaims.MailboxGuid, mailbox.Guid.ToString()),
            ]));
        }
        return problem;
    }

    private static string? First(ClaimsPrincipal principal, string[] types)
    {
        foreach (var type in types)
        {
            if (principal.FindFirstValue(type) is { Length: > 0 } value)
            {
                return value;
            }
        }
        return null;
    }
}
