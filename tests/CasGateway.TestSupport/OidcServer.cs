using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CasGateway.TestSupport;

/// <summary>
/// A local OpenID Connect issuer (metadata + JWKS over HTTPS on 127.0.0.1) whose keys the test controls, so the
/// gateway's Microsoft.Identity.Web validation runs in full. Its TLS certificate is trusted through SSL_CERT_FILE,
/// set by the test projects' generated runsettings.
/// </summary>
public sealed class OidcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RsaSecurityKey _signingKey;

    private OidcServer(WebApplication app, Uri instance, RsaSecurityKey signingKey)
    {
        _app = app;
        Instance = instance;
        _signingKey = signingKey;
    }

    public Guid TenantId { get; } = Guid.NewGuid();

    public Guid ClientId { get; } = Guid.NewGuid();

    /// <summary>The <c>AzureAd:Instance</c> value, e.g. <c>https://localhost:12345/</c>.</summary>
    public Uri Instance { get; }

    public string Issuer => $"{Instance}{TenantId}/v2.0";

    public static async Task<OidcServer> StartAsync()
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = Guid.NewGuid().ToString("N") };
        var folder = Path.Combine(AppContext.BaseDirectory, "TestCerts");
        using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(folder, "oidc-localhost.pem"), Path.Combine(folder, "oidc-localhost.key"));
        var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        var app = builder.Build();
        OidcServer? self = null;
        app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (string tenant) => Results.Json(self!.Metadata(tenant)));
        app.MapGet("/{tenant}/discovery/v2.0/keys", () => Results.Json(self!.Jwks()));
        await app.StartAsync();
        var port = new Uri(app.Urls.First()).Port;
        self = new OidcServer(app, new Uri($"https://localhost:{port}/"), key);
        return self;
    }

    /// <summary>Gateway settings for <c>AzureAd</c>.</summary>
    public Dictionary<string, string?> GatewaySettings() => new()
    {
        ["AzureAd:Instance"] = Instance.ToString(),
        ["AzureAd:TenantId"] = TenantId.ToString(),
        ["AzureAd:ClientId"] = ClientId.ToString(),
        ["AzureAd:Audience"] = ClientId.ToString(),
    };

    /// <summary>A token for <paramref name="user"/>; every parameter can be spoiled to test a refusal.</summary>
    public string IssueToken(
        string user,
        string? audience = null,
        string? issuer = null,
        DateTime? expires = null,
        SecurityKey? signingKey = null,
        IEnumerable<Claim>? extraClaims = null,
        Guid? objectId = null,
        Guid? tenantId = null)
    {
        var now = DateTime.UtcNow;
        var notBefore = expires is { } e && e < now ? e.AddHours(-1) : now.AddMinutes(-1);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? ClientId.ToString(),
            IssuedAt = notBefore,
            NotBefore = notBefore,
            Expires = expires ?? now.AddHours(1),
            Subject = new ClaimsIdentity(
            [
                new Claim("tid", (tenantId ?? TenantId).ToString()),
                new Claim("oid", (objectId ?? TestDirectory.ObjectIdOf(user)).ToString()),
                new Claim("preferred_username", user),
                new Claim("name", user),
                new Claim("ver", "2.0"),
                // Microsoft.Identity.Web refuses web-API tokens that carry neither a scope nor an app role.
                new Claim("scp", "EWS.AccessAsUser.All"),
                .. extraClaims ?? [],
            ]),
            SigningCredentials = new SigningCredentials(signingKey ?? _signingKey, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>A key the issuer does not publish: tokens it signs must be refused.</summary>
    public static RsaSecurityKey ForeignKey() => new(RSA.Create(2048)) { KeyId = Guid.NewGuid().ToString("N") };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Dictionary<string, object> Metadata(string tenant) => new()
    {
        ["issuer"] = $"{Instance}{tenant}/v2.0",
        ["authorization_endpoint"] = $"{Instance}{tenant}/oauth2/v2.0/authorize",
        ["token_endpoint"] = $"{Instance}{tenant}/oauth2/v2.0/token",
        ["jwks_uri"] = $"{Instance}{tenant}/discovery/v2.0/keys",
        ["response_types_supported"] = new[] { "code", "id_token" },
        ["subject_types_supported"] = new[] { "pairwise" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
    };

    private Dictionary<string, object> Jwks()
    {
        var parameters = _signingKey.Rsa.ExportParameters(false);
        return new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["kid"] = _signingKey.KeyId,
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
                    ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                },
            },
        };
    }
}
