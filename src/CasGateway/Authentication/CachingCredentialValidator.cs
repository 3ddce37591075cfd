using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Remembers successful validations for a short while, keyed by a keyed hash of user and password (the password
/// itself is never kept), so clients that send Basic credentials on every request cost one PBKDF2 per lifetime.
/// </summary>
public sealed class CachingCredentialValidator(ICredentialValidator inner, IOptions<GatewayAuthenticationOptions> options)
    : ICredentialValidator, IDisposable
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CredentialCacheSize });

    public void Dispose() => _cache.Dispose();

    public async ValueTask<AuthenticatedUser?> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var lifetime = options.Value.CredentialCacheLifetime;
        if (lifetime <= TimeSpan.Zero)
        {
            return await inner.ValidateAsync(userName, password, cancellationToken);
        }
        var key = new CredentialKey(Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userName + "\0" + password))));
        if (_cache.TryGetValue(key, out AuthenticatedUser? known))
        {
            return known;
        }
        var user = await inner.ValidateAsync(userName, password, cancellationToken);
        if (user is not null)
        {
            _cache.Set(key, user, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime, Size = 1 });
        }
        return user;
    }

    private sealed record CredentialKey(string Value);
}
