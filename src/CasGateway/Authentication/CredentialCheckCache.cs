using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Good password checks, remembered for <see cref="GatewayAuthenticationOptions.CredentialCacheLifetime"/> (at most
/// <see cref="GatewayAuthenticationOptions.CredentialCacheSize"/> users) so that clients sending Basic credentials on
/// every request cost one check per lifetime — one PBKDF2 for the File and SQL stores, one bind for LDAP. One entry per
/// user name (compared without case), holding a keyed hash (HMAC-SHA256, random per-process key) of user name, password
/// and what the password was checked against (the stored hash; empty where the directory itself decides): the password
/// is never kept. A later good check with another password replaces the entry, and any failed check for the user
/// removes it, so an old password stops working once the new one has been used or a wrong one tried — and in any case
/// after the lifetime. A lookup is one HMAC over a stack buffer and one cache read: no allocation for names and
/// passwords of ordinary length.
/// </summary>
public sealed class CredentialCheckCache(IOptions<GatewayAuthenticationOptions> options) : IDisposable
{
    /// <summary>Longer inputs (the Basic header allows up to 3 KB of credentials) hash from a rented buffer.</summary>
    private const int StackLimit = 512;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CredentialCacheSize });

    public void Dispose() => _cache.Dispose();

    /// <summary>What <see cref="Remember{T}"/> stored for exactly these credentials and <paramref name="checkedAgainst"/>, within the lifetime.</summary>
    public bool TryFind<T>(string userName, string password, string checkedAgainst, out T value)
    {
        if (_cache.TryGetValue(KeyOf(userName), out Entry? entry)
            && Proves(entry!.Proof, userName, password, checkedAgainst)
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
            var proof = new byte[HMACSHA256.HashSizeInBytes];
            Prove(userName, password, checkedAgainst, proof);
            _cache.Set(KeyOf(userName), new Entry(proof, value),
                new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime, Size = 1 });
        }
    }

    /// <summary>A failed check: whatever password this user signed in with before is checked again next time.</summary>
    public void Forget(string userName) => _cache.Remove(KeyOf(userName));

    /// <summary>The user name as the directory compares it (a new string only when it has upper-case letters).</summary>
    private static string KeyOf(string userName) => userName.ToLowerInvariant();

    private bool Proves(byte[] proof, string userName, string password, string checkedAgainst)
    {
        Span<byte> candidate = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Prove(userName, password, checkedAgainst, candidate);
        return CryptographicOperations.FixedTimeEquals(proof, candidate);
    }

    /// <summary>HMAC-SHA256 of <c>lower(user name) \0 password \0 checked-against</c> in UTF-8; the buffer is wiped after.</summary>
    private void Prove(string userName, string password, string checkedAgainst, Span<byte> proof)
    {
        var chars = userName.Length + password.Length + checkedAgainst.Length + 2;
        var length = Encoding.UTF8.GetMaxByteCount(chars);
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            Span<char> lower = userName.Length <= StackLimit / 2 ? stackalloc char[userName.Length] : new char[userName.Length];
            userName.AsSpan().ToLowerInvariant(lower);
            var written = Encoding.UTF8.GetBytes(lower, buffer);
            buffer[written++] = 0;
            written += Encoding.UTF8.GetBytes(password, buffer[written..]);
            buffer[written++] = 0;
            written += Encoding.UTF8.GetBytes(checkedAgainst, buffer[written..]);
            HMACSHA256.HashData(_key, buffer[..written], proof);
            CryptographicOperations.ZeroMemory(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private sealed record Entry(byte[] Proof, object? Value);
}
