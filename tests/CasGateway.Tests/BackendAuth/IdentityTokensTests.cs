using System.Security.Cryptography;
using CasGateway.BackendAuth;
using CasGateway.Configuration;
using CasGateway.Forwarding;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CasGateway.Tests.BackendAuth;

/// <summary>Issue 15 item 5: a token is signed once per caller and server and reused for most of its lifetime.</summary>
public sealed class IdentityTokensTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("casgw-identity-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly IdentityTokens _tokens;
    private readonly EcdsaGatewayIdentityCodec _backend;

    public IdentityTokensTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(_folder, "identity.pem"), key.ExportPkcs8PrivateKeyPem());
        _backend = EcdsaGatewayIdentityCodec.FromPublicKeyPem(key.ExportSubjectPublicKeyInfoPem(), TimeSpan.Zero);
        var backend = new BackendOptions { Identity = { PrivateKeyPath = "identity.pem", Lifetime = TimeSpan.FromMinutes(5) } };
        _tokens = new IdentityTokens(Options.Create(backend), Options.Create(new GatewayOptions { NodeName = "cas1.contoso.com" }),
            new HostingEnvironment { ContentRootPath = _folder }, _clock);
    }

    public void Dispose()
    {
        _tokens.Dispose();
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string Token(string audience, string clientIp = "192.0.2.1")
        => _tokens.TokenFor("alice@contoso.com", "alice@contoso.com", Guid.Empty, "Basic", clientIp, audience, "alice@contoso.com");

    [Fact]
    public void The_same_caller_and_server_reuse_one_token_until_four_fifths_of_its_lifetime()
    {
        var first = Token("mbx1.contoso.com");
        _clock.Advance(TimeSpan.FromMinutes(3.9));
        Assert.Same(first, Token("mbx1.contoso.com"));
        Assert.True(_backend.Verify(first, _clock.GetUtcNow(), "mbx1.contoso.com").Succeeded);

        _clock.Advance(TimeSpan.FromMinutes(0.2));
        var renewed = Token("mbx1.contoso.com");
        Assert.NotEqual(first, renewed);
        var verified = _backend.Verify(renewed, _clock.GetUtcNow(), "mbx1.contoso.com");
        Assert.True(verified.Succeeded, verified.Error);
        Assert.Equal(_clock.GetUtcNow().AddMinutes(5), verified.Identity!.ExpiresAt);
        Assert.Equal("cas1.contoso.com", verified.Identity.GatewayNode);
    }

    [Fact]
    public void Another_server_or_client_address_gets_its_own_token()
    {
        var one = Token("mbx1.contoso.com");
        Assert.NotEqual(one, Token("mbx2.contoso.com"));
        Assert.NotEqual(one, Token("mbx1.contoso.com", "192.0.2.2"));
        Assert.Equal("mbx2.contoso.com", _backend.Verify(Token("mbx2.contoso.com"), _clock.GetUtcNow()).Identity!.Audience);
    }
}
