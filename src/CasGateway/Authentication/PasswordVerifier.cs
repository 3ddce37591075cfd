using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Checks a password against a stored PBKDF2 hash, inside the <see cref="PasswordHashGate"/>. Good checks are
/// remembered for <see cref="GatewayAuthenticationOptions.CredentialCacheLifetime"/>, keyed by a keyed hash of user
/// name, password <em>and the stored hash</em> (the password itself is never kept): when the directory's hash
/// changes or goes, the remembered check no longer matches, so the old password stops working on the next request.
/// Clients that send Basic credentials on every request cost one PBKDF2 per lifetime.
/// </summary>
public sealed class PasswordVerifier(PasswordHashGate gate, IOptions<GatewayAuthenticationOptions> options) : IDisposable
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CredentialCacheSize });

    public void Dispose() => _cache.Dispose();

    /// <summary>Whether <paramref name="password"/> matches <paramref name="storedHash"/>; null when hashing is at capacity.</summary>
    public async ValueTask<bool?> VerifyAsync(string userName, string password, string storedHash, CancellationToken cancellationToken)
    {
        var lifetime = options.Value.CredentialCacheLifetime;
        var key = lifetime > TimeSpan.Zero ? CacheKey(userName, password, storedHash) : null;
        if (key is not null && _cache.TryGetValue(key, out _))
        {
            return true;
        }
        var good = await gate.TryRunAsync(() => PasswordHash.Verify(password, storedHash), cancellationToken);
        if (good == true && key is not null)
        {
            _cache.Set(key, true, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime, Size = 1 });
        }
        return good;
    }

    /// <summary>Spends the same work as a real check against <paramref name="dummyHash"/>, for a user with no hash (never true).</summary>
    public async ValueTask<bool?> SpendAsync(string password, string dummyHash, CancellationToken cancellationToken)
        => await gate.TryRunAsync(() => PasswordHash.Verify(password, dummyHash) && false, cancellationToken);

    private CredentialKey CacheKey(string userName, string password, string storedHash)
        => new(Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userName + "\0" + password + "\0" + storedHash))));

    private sealed record CredentialKey(string Value);
}
