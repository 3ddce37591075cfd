using System.Security.Cryptography;
using CasGateway.BackendAuth;

namespace CasGateway.Tests.BackendAuth;

/// <summary>The legacy HMAC codec (v1).</summary>
public sealed class GatewayIdentityCodecTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    private static GatewayIdentity Identity(DateTimeOffset issued, TimeSpan lifetime) => new(
        "alice@contoso.com", "alice@contoso.com", Guid.NewGuid(), "Basic", "192.0.2.10", "cas1", issued, issued + lifetime);

    [Fact]
    public void Round_trips_a_signed_identity()
    {
        var codec = new HmacGatewayIdentityCodec(_key, TimeSpan.FromMinutes(1));
        var identity = Identity(Now, TimeSpan.FromMinutes(5));
        var result = codec.Verify(codec.Sign(identity), Now.AddMinutes(1));
        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(identity, result.Identity);
    }

    [Fact]
    public void Refuses_expired_identity_beyond_clock_skew()
    {
        var codec = new HmacGatewayIdentityCodec(_key, TimeSpan.FromMinutes(1));
        var header = codec.Sign(Identity(Now, TimeSpan.FromMinutes(5)));
        Assert.True(codec.Verify(header, Now.AddMinutes(5.5)).Succeeded);
        var late = codec.Verify(header, Now.AddMinutes(6.5));
        Assert.False(late.Succeeded);
        Assert.Equal("identity expired", late.Error);
    }

    [Fact]
    public void Refuses_identity_from_the_future()
    {
        var codec = new HmacGatewayIdentityCodec(_key, TimeSpan.FromMinutes(1));
        Assert.False(codec.Verify(codec.Sign(Identity(Now.AddMinutes(10), TimeSpan.FromMinutes(5))), Now).Succeeded);
    }

    [Fact]
    public void Refuses_tampered_payload_and_other_keys()
    {
        var codec = new HmacGatewayIdentityCodec(_key, TimeSpan.Zero);
        var header = codec.Sign(Identity(Now, TimeSpan.FromMinutes(5)));
        var parts = header.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlDecode(parts[1]))
            .Replace("alice", "mallory", StringComparison.Ordinal);
        var tampered = parts[0] + "." + Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Text.Encoding.UTF8.GetBytes(payload)) + "." + parts[2];
        Assert.Equal("bad identity signature", codec.Verify(tampered, Now).Error);

        var other = new HmacGatewayIdentityCodec(RandomNumberGenerator.GetBytes(32), TimeSpan.Zero);
        Assert.Equal("bad identity signature", other.Verify(header, Now).Error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1.abc")]
    [InlineData("v2.abc.def")]
    [InlineData("v1.!!!.???")]
    public void Refuses_malformed_headers(string? header)
    {
        Assert.False(new HmacGatewayIdentityCodec(_key, TimeSpan.Zero).Verify(header, Now).Succeeded);
    }

    [Fact]
    public void Refuses_short_keys()
    {
        Assert.Throws<ArgumentException>(() => new HmacGatewayIdentityCodec(new byte[16], TimeSpan.Zero));
    }
}
