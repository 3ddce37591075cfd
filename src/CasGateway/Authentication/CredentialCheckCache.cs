using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Good password checks, remembered for <see cref="GatewayAuthenticationOptions.CredentialCacheLifetime"/> (at most
/// <see cref="GatewayAuthenticationOptions.CredentialCacheSize"/> users) so that clients sending Basic credentials on
/// every request cost one check per lifetime — one PBKDF2 for the File and SQL stores, one bind for LDAP. One entry per
/// user name, holding a keyed hash (random per-process key) of user name, password and what the password was checked
/// against (the stored hash; empty where the directory itself decides): the password is never kept. A later good check
/// with another password replaces the entry, and any failed check for the user removes it, so an old password stops
/// working once the new one has been used or a wrong one tried — and in any case after the lifetime.
/// </summary>
public sealed class CredentialCheckCache(IOptions<GatewayAuthenticationOptions> options) : IDisposable
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CredentialCacheSize });

    public void Dispose() => _cache.Dispose();

    /// <summary>What <see cref="Remember{T}"/> stored for exactly these credentials and <paramref name="checkedAgainst"/>, within the lifetime.</summary>
    public bool TryFind<T>(string userName, string password, string checkedAgainst, out T value)
    {
        if (_cache.TryGetValue(KeyOf(userName), out Entry? entry)
            && CryptographicOperations.FixedTimeEquals(entry!.Proof, Proof(userName, password, checkedAgainst))
            && entry.Value is T found)
        {
            value = found;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>A good check: remembered for the lifetime (nothing when the lifetime is zero), replacing the user's previous one.</summary>
    public void Remember<T>(string userName, string password, string checkedAgainst, T value)
    {
        var lifetime = options.Value.CredentialCacheLifetime;
        if (lifetime > TimeSpan.Zero)
        {
            _cache.Set(KeyOf(userName), new Entry(Proof(userName, password, checkedAgainst), value),
                new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime, Size = 1 });
        }
    }

    /// <summary>A failed check: whatever password this user signed in with before is checked again next time.</summary>
    public void Forget(string userName) => _cache.Remove(KeyOf(userName));

    private CacheKey KeyOf(string userName) => new(Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userName.ToLowerInvariant()))));

    private byte[] Proof(string userName, string password, string checkedAgainst)
        => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userName.ToLowerInvariant() + "\0" + password + "\0" + checkedAgainst));

    private sealed record CacheKey(string Value);

    private sealed record Entry(byte[] Proof, object? Value);
}
