using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Stale-if-error for passwords kept in an external directory (LDAP, SQL), as the location cache has for locations:
/// every good sign-in is remembered — as a keyed hash of user name and password, never the password — for
/// <c>Gateway:Locator:Resilience:StalePeriod</c>, and vouches for the same credentials only while the directory cannot
/// be reached. While it answers, the directory decides (through the <see cref="CredentialCheckCache"/>, so a changed password
/// or a disabled account counts at the latest after <c>Gateway:Authentication:CredentialCacheLifetime</c>).
/// </summary>
public sealed class RecentSignIns(IOptions<LocatorOptions> options, TimeProvider clock)
{
    private const int MaxEntries = 100_000;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, (AuthenticatedUser User, DateTimeOffset Until)> _entries = new(StringComparer.Ordinal);

    public void Remember(string userName, string password, AuthenticatedUser user)
    {
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }
        _entries[KeyOf(userName, password)] = (user, clock.GetUtcNow() + options.Value.Resilience.StalePeriod);
    }

    /// <summary>The user these credentials last signed in as, if that was within the stale period.</summary>
    public AuthenticatedUser? Vouch(string userName, string password)
        => _entries.TryGetValue(KeyOf(userName, password), out var entry) && entry.Until > clock.GetUtcNow() ? entry.User : null;

    /// <summary>The directory said no: forget whatever these credentials did before.</summary>
    public void Forget(string userName, string password) => _entries.TryRemove(KeyOf(userName, password), out _);

    private string KeyOf(string userName, string password)
        => Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userName.ToLowerInvariant() + "\n" + password)));
}
