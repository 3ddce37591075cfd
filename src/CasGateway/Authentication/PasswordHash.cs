using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CasGateway.Authentication;

/// <summary>
/// Password hashes kept in the directory: <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt b64&gt;$&lt;hash b64&gt;</c>.
/// </summary>
public static class PasswordHash
{
    public const int DefaultIterations = 210_000;
    private const string Prefix = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Prefix, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public static bool IsWellFormed(string encoded) => TryDecode(encoded, out _, out _, out _);

    /// <summary>The iteration count of a well-formed hash, else 0.</summary>
    public static int IterationsOf(string encoded) => TryDecode(encoded, out var iterations, out _, out _) ? iterations : 0;

    /// <summary>
    /// <see cref="IterationsOf(string)"/> of a hash in UTF-8, without allocating (the directory file checks a million
    /// of them at load): the same checks, base64 lengths from <see cref="System.Buffers.Text.Base64.IsValid(ReadOnlySpan{byte}, out int)"/>.
    /// </summary>
    public static int IterationsOf(ReadOnlySpan<byte> encoded)
    {
        if (!encoded.StartsWith("pbkdf2-sha256$"u8))
        {
            return 0;
        }
        var rest = encoded["pbkdf2-sha256$".Length..];
        var end = rest.IndexOf((byte)'$');
        if (end < 0 || !int.TryParse(rest[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 10_000)
        {
            return 0;
        }
        rest = rest[(end + 1)..];
        end = rest.IndexOf((byte)'$');
        if (end < 0 || rest[(end + 1)..].Contains((byte)'$')
            || !System.Buffers.Text.Base64.IsValid(rest[..end], out var saltLength) || saltLength < 8
            || !System.Buffers.Text.Base64.IsValid(rest[(end + 1)..], out var hashLength) || hashLength < 16)
        {
            return 0;
        }
        return iterations;
    }

    public static bool Verify(string password, string encoded)
    {
        if (!TryDecode(encoded, out var iterations, out var salt, out var expected))
        {
            return false;
        }
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static bool TryDecode(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Prefix
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 10_000)
        {
            return false;
        }
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length >= 8 && hash.Length >= 16;
    }
}
