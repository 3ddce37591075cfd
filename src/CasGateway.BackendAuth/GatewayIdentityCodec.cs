using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.WebUtilities;

namespace CasGateway.BackendAuth;

/// <summary>
/// Signs and verifies the identity header: <c>v1.&lt;base64url JSON&gt;.&lt;base64url HMAC-SHA256&gt;</c>.
/// The gateway signs with the shared key; a backend verifies with the same key.
/// </summary>
public sealed class GatewayIdentityCodec
{
    private const string Version = "v1";
    private readonly byte[] _key;
    private readonly TimeSpan _clockSkew;

    public GatewayIdentityCodec(byte[] key, TimeSpan clockSkew)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The identity signing key must be at least 32 bytes.", nameof(key));
        }
        _key = key;
        _clockSkew = clockSkew;
    }

    public string Sign(GatewayIdentity identity)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(identity, IdentityJsonContext.Default.GatewayIdentity);
        var body = Version + "." + WebEncoders.Base64UrlEncode(payload);
        var mac = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(body));
        return body + "." + WebEncoders.Base64UrlEncode(mac);
    }

    public IdentityVerification Verify(string? header, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(header))
        {
            return IdentityVerification.Failed("missing identity header");
        }
        var parts = header.Split('.');
        if (parts.Length != 3 || parts[0] != Version)
        {
            return IdentityVerification.Failed("malformed identity header");
        }
        byte[] mac;
        byte[] payload;
        try
        {
            mac = WebEncoders.Base64UrlDecode(parts[2]);
            payload = WebEncoders.Base64UrlDecode(parts[1]);
        }
        catch (FormatException)
        {
            return IdentityVerification.Failed("malformed identity header");
        }
        var expected = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        if (!CryptographicOperations.FixedTimeEquals(mac, expected))
        {
            return IdentityVerification.Failed("bad identity signature");
        }
        GatewayIdentity? identity;
        try
        {
            identity = JsonSerializer.Deserialize(payload, IdentityJsonContext.Default.GatewayIdentity);
        }
        catch (JsonException)
        {
            return IdentityVerification.Failed("malformed identity payload");
        }
        if (identity is null)
        {
            return IdentityVerification.Failed("malformed identity payload");
        }
        if (now > identity.ExpiresAt + _clockSkew)
        {
            return IdentityVerification.Failed("identity expired");
        }
        if (now + _clockSkew < identity.IssuedAt)
        {
            return IdentityVerification.Failed("identity issued in the future");
        }
        return new IdentityVerification(identity, null);
    }
}

public sealed record IdentityVerification(GatewayIdentity? Identity, string? Error)
{
    public bool Succeeded => Identity is not null;

    public static IdentityVerification Failed(string error) => new(null, error);
}

[JsonSerializable(typeof(GatewayIdentity))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class IdentityJsonContext : JsonSerializerContext;
