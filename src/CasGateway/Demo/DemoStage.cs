using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Configuration;
using CasGateway.Forwarding;
using CasGateway.Listeners;

namespace CasGateway.Demo;

public static class DemoStage
{
    /// <summary>When <c>Gateway:Demo:Enabled</c>: generated demo secrets and the demo mailbox servers.</summary>
    public static WebApplicationBuilder AddDemo(this WebApplicationBuilder builder)
    {
        var demo = builder.Configuration.GetSection(DemoOptions.Section).Get<DemoOptions>() ?? new();
        if (!demo.Enabled)
        {
            return builder;
        }
        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new();
        var folder = Path.Combine(builder.Environment.ResolveDataPath(gateway), "demo");
        var secrets = DemoSecrets.LoadOrCreate(folder);
        var defaults = new Dictionary<string, string?>();
        if (string.Equals(builder.Configuration[$"{BackendOptions.Section}:Identity:Algorithm"], nameof(IdentitySigningAlgorithm.HmacSha256), StringComparison.OrdinalIgnoreCase))
        {
            AddIfMissing(builder.Configuration, defaults, $"{BackendOptions.Section}:Identity:SigningKey", secrets.SigningKey);
        }
        else
        {
            AddIfMissing(builder.Configuration, defaults, $"{BackendOptions.Section}:Identity:PrivateKeyPath", secrets.IdentityPrivateKeyPath);
        }
        if (builder.Configuration.GetSection($"{BackendOptions.Section}:ClientCertificate").GetChildren().Any() is false)
        {
            defaults[$"{BackendOptions.Section}:ClientCertificate:Path"] = secrets.GatewayClientCertificatePath;
        }
        if (builder.Configuration.GetSection($"{BackendOptions.Section}:TrustedServerCertificateThumbprints").GetChildren().Any() is false)
        {
            defaults[$"{BackendOptions.Section}:TrustedServerCertificateThumbprints:0"] = secrets.BackendThumbprint;
        }
        builder.Configuration.AddInMemoryCollection(defaults);
        builder.Services.AddSingleton(secrets);
        builder.Services.AddHostedService<DemoBackends>();
        return builder;
    }

    private static void AddIfMissing(IConfiguration configuration, Dictionary<string, string?> defaults, string key, string value)
    {
        if (string.IsNullOrEmpty(configuration[key]))
        {
            defaults[key] = value;
        }
    }
}

/// <summary>Demo keys and certificates, generated once into the data folder and reused.</summary>
public sealed class DemoSecrets
{
    private DemoSecrets(string signingKey, string identityPrivateKeyPath, string clientCertificatePath, X509Certificate2 backendCertificate, X509Certificate2 clientCertificate)
    {
        SigningKey = signingKey;
        IdentityPrivateKeyPath = identityPrivateKeyPath;
        GatewayClientCertificatePath = clientCertificatePath;
        BackendCertificate = backendCertificate;
        GatewayClientThumbprint = clientCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        BackendThumbprint = backendCertificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    /// <summary>Legacy HMAC key (only with <c>Algorithm: HmacSha256</c>).</summary>
    public string SigningKey { get; }

    /// <summary>PEM ECDSA P-256 private key the gateway signs identities with.</summary>
    public string IdentityPrivateKeyPath { get; }

    public string GatewayClientCertificatePath { get; }

    public string GatewayClientThumbprint { get; }

    public X509Certificate2 BackendCertificate { get; }

    public string BackendThumbprint { get; }

    /// <summary>Every file holding a secret is written mode 0600.</summary>
    public static DemoSecrets LoadOrCreate(string folder)
    {
        Directory.CreateDirectory(folder);
        var keyPath = Path.Combine(folder, "identity.key");
        if (!File.Exists(keyPath))
        {
            CertificateFiles.WritePrivate(keyPath, System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
        }
        var ecdsaPath = Path.Combine(folder, "identity-ecdsa.pem");
        if (!File.Exists(ecdsaPath))
        {
            using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            CertificateFiles.WritePrivate(ecdsaPath, System.Text.Encoding.ASCII.GetBytes(ecdsa.ExportPkcs8PrivateKeyPem()));
        }
        var backend = CertificateFiles.LoadOrCreateSelfSigned(Path.Combine(folder, "backend.pfx"), "demo-mailbox-server", ["localhost"]);
        var clientPath = Path.Combine(folder, "gateway-client.pfx");
        var client = CertificateFiles.LoadOrCreateSelfSigned(clientPath, "casgateway-demo", ["casgateway-demo"], clientAuth: true);
        return new DemoSecrets(File.ReadAllText(keyPath).Trim(), ecdsaPath, clientPath, backend, client);
    }
}
