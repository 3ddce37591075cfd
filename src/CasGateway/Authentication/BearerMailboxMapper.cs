using System.Security.Claims;
using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Ties a validated bearer token to a mailbox: the token's tenant (<c>tid</c>) must be the one configured tenant,
/// and its object id (<c>oid</c>) must be a mailbox owner's object id in the directory chosen by
/// <c>Gateway:Locator:Kind</c> (<see cref="IObjectIdDirectory"/>: the file's <c>objectId</c>, SQL's
/// <c>object_id</c>, LDAP's <c>msDS-ExternalDirectoryObjectId</c>). <c>preferred_username</c> names the mailbox only
/// when <c>Gateway:Authentication:BearerUsernameFallback</c> is on — a user name is something another tenant's admin
/// can set, an object id is not. Answers are remembered like locations (<c>Gateway:Locator:Cache</c>: found for
/// <c>TimeToLive</c>, not found for <c>NegativeTimeToLive</c>, at most <c>SizeLimit</c>, forgotten when the store
/// changes as a whole), so a client sending a token with every request does not cost a directory query each.
/// </summary>
public sealed class BearerMailboxMapper : IDisposable
{
    private static readonly string[] TenantClaims = ["tid", "http://schemas.microsoft.com/identity/claims/tenantid"];
    private static readonly string[] ObjectIdClaims = ["oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"];

    private readonly IObjectIdDirectory _directory;
    private readonly IMailboxLocator _locator;
    private readonly IOptionsMonitor<GatewayAuthenticationOptions> _options;
    private readonly IConfiguration _configuration;
    private readonly LocatorCacheOptions _cacheOptions;
    private readonly MemoryCache _objectIds;

    public BearerMailboxMapper(IObjectIdDirectory directory, IMailboxLocator locator, IOptions<LocatorOptions> locatorOptions,
        IOptionsMonitor<GatewayAuthenticationOptions> options, IConfiguration configuration)
    {
        _directory = directory;
        _locator = locator;
        _options = options;
        _configuration = configuration;
        _cacheOptions = locatorOptions.Value.Cache;
        _objectIds = new MemoryCache(new MemoryCacheOptions { SizeLimit = _cacheOptions.SizeLimit });
        _locator.Changed += _objectIds.Clear;
    }

    /// <summary>The caller's mailbox, or why there is none (for the log: never the token's content).</summary>
    /// <exception cref="LocatorUnavailableException">The directory cannot answer right now (bounded by the store's own timeouts).</exception>
    public async Task<(Mailbox? Mailbox, string? Problem)> MapAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(_configuration["AzureAd:TenantId"], out var tenant) || First(principal, TenantClaims) is not { } tid
            || !Guid.TryParse(tid, out var tokenTenant) || tokenTenant != tenant)
        {
            return (null, "the token is not from the configured tenant");
        }
        if (First(principal, ObjectIdClaims) is { } oid && Guid.TryParse(oid, out var objectId) && objectId != Guid.Empty
            && await FindAsync(objectId, cancellationToken) is { } mailbox)
        {
            return (mailbox, null);
        }
        if (_options.CurrentValue.BearerUsernameFallback && AnchorMailbox.TryParse(principal.FindFirstValue("preferred_username"), out var anchor)
            && anchor.Value.Kind == AnchorKind.Smtp && await _locator.LocateAsync(anchor.Value, cancellationToken) is { } named)
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

    public void Dispose()
    {
        _locator.Changed -= _objectIds.Clear;
        _objectIds.Dispose();
    }

    /// <summary>The store's answer for <paramref name="objectId"/>, remembered (found or not) for the cache's lifetimes.</summary>
    private async ValueTask<Mailbox?> FindAsync(Guid objectId, CancellationToken cancellationToken)
    {
        if (_objectIds.TryGetValue(objectId, out Known? known))
        {
            return known!.Mailbox;
        }
        var mailbox = await _directory.FindByObjectIdAsync(objectId, cancellationToken);
        _objectIds.Set(objectId, new Known(mailbox), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpirationRelativeToNow = mailbox is null ? _cacheOptions.NegativeTimeToLive : _cacheOptions.TimeToLive,
        });
        return mailbox;
    }

    private sealed record Known(Mailbox? Mailbox);

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
