using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.WebUtilities;

namespace CasGateway.BackendAuth;

/// <summary>
/// Signs and verifies the identity header: <c>&lt;version&gt;.&lt;base64url JSON&gt;.&lt;base64url signature&gt;</c>
/// over the ASCII text <c>&lt;version&gt;.&lt;base64url JSON&gt;</c>. <see cref="EcdsaGatewayIdentityCodec"/> (v2,
/// the default) lets backends verify with the gateway's public key only; <see cref="HmacGatewayIdentityCodec"/> (v1)
/// is the legacy shared-key form. A codec accepts only its own version.
/// </summary>
public abstract class GatewayIdentityCodec(TimeSpan clockSkew)
{
    /// <summary>The version prefix of the tokens this codec makes and accepts.</summary>
    protected abstract string Version { get; }

    /// <summary>Whether this codec holds a key that can sign (a backend's codec only verifies).</summary>
    public abstract bool CanSign { get; }

    protected abstract byte[] SignData(byte[] data);

    protected abstract bool VerifyData(byte[] data, byte[] signature);

    public string Sign(GatewayIdentity identity)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(identity, IdentityJsonContext.Default.GatewayIdentity);
        var body = Version + "." + WebEncoders.Base64UrlEncode(payload);
        return body + "." + WebEncoders.Base64UrlEncode(SignData(Encoding.ASCII.GetBytes(body)));
    }

    /// <summary>
    /// Checks signature, lifetime and — when <paramref name="audience"/> is given — that the token was made for this
    /// server and no other.
    /// </summary>
    public IdentityVerification Verify(string? header, DateTimeOffset now, string? audience = null)
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
        byte[] signature;
        byte[] payload;
        try
        {
            signature = WebEncoders.Base64UrlDecode(parts[2]);
            payload = WebEncoders.Base64UrlDecode(parts[1]);
        }
        catch (FormatException)
        {
            return IdentityVerification.Failed("malformed identity header");
        }
        if (!VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature))
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
        if (now > identity.ExpiresAt + clockSkew)
        {
            return IdentityVerification.Failed("identity expired");
        }
        if (now + clockSkew < identity.IssuedAt)
        {
            return IdentityVerification.Failed("identity issued in the future");
        }
        if (audience is not null && !identity.Audience.Equals(audience, StringComparison.OrdinalIgnoreCase))
        {
            return IdentityVerification.Failed("identity is for another server");
        }
        return new IdentityVerification(identity, null);
    }
}

/// <summary>v2: ECDSA P-256 with SHA-256 (IEEE P1363 r‖s). The gateway signs with the private key; backends hold only the public key.</summary>
public sealed class EcdsaGatewayIdentityCodec : GatewayIdentityCodec, IDisposable
{
    private const string P256 = "1.2.840.10045.3.1.7";
    private readonly ECParameters _parameters;
    private readonly ThreadLocal<ECDsa> _keys;

    private EcdsaGatewayIdentityCodec(ECDsa key, TimeSpan clockSkew) : base(clockSkew)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        if (parameters.Curve.Oid.Value != P256 && parameters.Curve.Oid.FriendlyName is not ("nistP256" or "ECDSA_P256" or "prime256v1"))
        {
            throw new ArgumentException("The identity key must be an ECDSA P-256 key.", nameof(key));
        }
        CanSign = TryExportPrivate(key, out var full);
        _parameters = CanSign ? full : parameters;
        key.Dispose();
        // ECDsa instances are not documented as thread-safe: one per thread, all from the same parameters.
        _keys = new ThreadLocal<ECDsa>(() => ECDsa.Create(_parameters), trackAllValues: true);
    }

    protected override string Version => "v2";

    public override bool CanSign { get; }

    /// <summary>A signing codec from a PEM private key (PKCS#8 <c>PRIVATE KEY</c> or SEC1 <c>EC PRIVATE KEY</c>).</summary>
    public static EcdsaGatewayIdentityCodec FromPrivateKeyPem(string pem, TimeSpan clockSkew)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        var codec = new EcdsaGatewayIdentityCodec(key, clockSkew);
        return codec.CanSign ? codec : throw new ArgumentException("The PEM holds no private key.", nameof(pem));
    }

    /// <summary>A verifying codec from a PEM public key (<c>PUBLIC KEY</c>), as a backend holds it.</summary>
    public static EcdsaGatewayIdentityCodec FromPublicKeyPem(string pem, TimeSpan clockSkew)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        key.Dispose();
        return new EcdsaGatewayIdentityCodec(ECDsa.Create(parameters), clockSkew);
    }

    /// <summary>The public half, PEM-encoded (<c>PUBLIC KEY</c>): what to hand the backends.</summary>
    public string PublicKeyPem()
    {
        using var key = ECDsa.Create(new ECParameters { Curve = _parameters.Curve, Q = _parameters.Q });
        return key.ExportSubjectPublicKeyInfoPem();
    }

    protected override byte[] SignData(byte[] data)
        => CanSign ? _keys.Value!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : throw new InvalidOperationException("This identity codec holds only a public key.");

    protected override bool VerifyData(byte[] data, byte[] signature)
        => _keys.Value!.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
        _keys.Dispose();
    }

    private static bool TryExportPrivate(ECDsa key, out ECParameters parameters)
    {
        try
        {
            parameters = key.ExportParameters(includePrivateParameters: true);
            return parameters.D is not null;
        }
        catch (CryptographicException)
        {
            parameters = default;
            return false;
        }
    }
}

/// <summary>v1, legacy: HMAC-SHA256 with one key shared by the gateway and every backend (any backend can mint tokens).</summary>
public sealed class HmacGatewayIdentityCodec : GatewayIdentityCodec
{
    private readonly byte[] _key;

    public HmacGatewayIdentityCodec(byte[] key, TimeSpan clockSkew) : base(clockSkew)
    {
        if (key.Length < 32)
        {
            throw new ArgumentException("The identity signing key must be at least 32 bytes.", nameof(key));
        }
        _key = key;
    }

    protected override string Version => "v1";

    public override bool CanSign => true;

    protected override byte[] SignData(byte[] data) => HMACSHA256.HashData(_key, data);

    protected override bool VerifyData(byte[] data, byte[] signature)
        => CryptographicOperations.FixedTimeEquals(signature, HMACSHA256.HashData(_key, data));
}

public sealed record IdentityVerification(GatewayIdentity? Identity, string? Error)
{
    public bool Succeeded => Identity is not null;

    public static IdentityVerification Failed(string error) => new(null, error);
}

[JsonSerializable(typeof(GatewayIdentity))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class IdentityJsonContext : JsonSerializerContext;
