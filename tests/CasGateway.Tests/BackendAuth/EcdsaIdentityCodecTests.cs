using System.Security.Cryptography;
using CasGateway.BackendAuth;

namespace CasGateway.Tests.BackendAuth;

/// <summary>Issue 15 item 5: the asymmetric identity token (v2), its audience and target mailbox.</summary>
public sealed class EcdsaIdentityCodecTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly EcdsaGatewayIdentityCodec _gateway;
    private readonly EcdsaGatewayIdentityCodec _backend;

    public EcdsaIdentityCodecTests()
    {
        _gateway = EcdsaGatewayIdentityCodec.FromPrivateKeyPem(_key.ExportPkcs8PrivateKeyPem(), TimeSpan.Zero);
        _backend = EcdsaGatewayIdentityCodec.FromPublicKeyPem(_key.ExportSubjectPublicKeyInfoPem(), TimeSpan.FromMinutes(1));
    }

    public void Dispose()
    {
        _gateway.Dispose();
        _backend.Dispose();
        _key.Dispose();
    }

    private static GatewayIdentity Identity(string audience, string target = "alice@contoso.com") => new(
        "alice@contoso.com", "alice@contoso.com", Guid.NewGuid(), "Basic", "192.0.2.10", "cas1", Now, Now.AddMinutes(5), audience, target);

    [Fact]
    public void Backend_verifies_with_the_public_key_only_and_cannot_sign()
    {
        var identity = Identity("mbx1.contoso.com");
        var header = _gateway.Sign(identity);
        Assert.StartsWith("v2.", header, StringComparison.Ordinal);
        var result = _backend.Verify(header, Now.AddMinutes(1), "mbx1.contoso.com");
        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(identity, result.Identity);
        Assert.False(_backend.CanSign);
        Assert.Throws<InvalidOperationException>(() => _backend.Sign(identity));
        Assert.Equal(_key.ExportSubjectPublicKeyInfoPem(), _gateway.PublicKeyPem());
    }

    [Fact]
    public void A_token_for_server_A_is_refused_by_server_B()
    {
        var header = _gateway.Sign(Identity("mbx1.contoso.com"));
        Assert.Equal("identity is for another server", _backend.Verify(header, Now, "mbx2.contoso.com").Error);
    }

    [Fact]
    public void Audience_and_target_mailbox_are_signed()
    {
        var header = _gateway.Sign(Identity("mbx1.contoso.com"));
        var parts = header.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(parts[1]));
        foreach (var (from, to) in new[] { ("mbx1.contoso.com", "mbx2.contoso.com"), ("\"targetMailbox\":\"alice@contoso.com\"", "\"targetMailbox\":\"bob@contoso.com\"") })
        {
            var altered = payload.Replace(from, to, StringComparison.Ordinal);
            Assert.NotEqual(payload, altered);
            var tampered = parts[0] + "." + Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Text.Encoding.UTF8.GetBytes(altered)) + "." + parts[2];
            Assert.Equal("bad identity signature", _backend.Verify(tampered, Now).Error);
        }
    }

    [Fact]
    public void A_forged_hmac_token_is_refused_once_asymmetric_signing_is_on()
    {
        var forged = new HmacGatewayIdentityCodec(RandomNumberGenerator.GetBytes(32), TimeSpan.Zero).Sign(Identity("mbx1.contoso.com"));
        Assert.Equal("malformed identity header", _backend.Verify(forged, Now, "mbx1.contoso.com").Error);
        // Even an HMAC signature relabelled v2 is not an ECDSA signature.
        var relabelled = "v2" + forged[2..];
        Assert.Equal("bad identity signature", _backend.Verify(relabelled, Now, "mbx1.contoso.com").Error);
    }

    [Fact]
    public void Another_gateway_key_is_refused()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = EcdsaGatewayIdentityCodec.FromPrivateKeyPem(other.ExportPkcs8PrivateKeyPem(), TimeSpan.Zero);
        Assert.Equal("bad identity signature", _backend.Verify(stranger.Sign(Identity("mbx1.contoso.com")), Now, "mbx1.contoso.com").Error);
    }

    [Fact]
    public void Only_P256_keys_are_accepted()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => EcdsaGatewayIdentityCodec.FromPrivateKeyPem(p384.ExportPkcs8PrivateKeyPem(), TimeSpan.Zero));
    }

    [Theory]
    [InlineData("alice@contoso.com", false)]
    [InlineData("ALICE@contoso.com", false)]
    [InlineData("", false)]
    [InlineData("shared-sales@contoso.com", true)]
    public void Owner_or_acting_on_another_mailbox(string target, bool other)
    {
        var identity = Identity("mbx1.contoso.com", target);
        Assert.Equal(other, identity.ActsOnOtherMailbox);
        Assert.Equal(!other, identity.IsOwner);
    }
}
