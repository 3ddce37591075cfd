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
        AddIfMissing(builder.Configuration, defaults, $"{BackendOptions.Section}:Identity:SigningKey", secrets.SigningKey);
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
    private DemoSecrets(string signingKey, string clientCertificatePath, X509Certificate2 backendCertificate, X509Certificate2 clientCertificate)
    {
        SigningKey = signingKey;
        GatewayClientCertificatePath = clientCertificatePath;
        BackendCertificate = backendCertificate;
        GatewayClientThumbprint = clientCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        BackendThumbprint = backendCertificate.GetCertHashString(HashAlgorithmName.SHA256);
    }

    public string SigningKey { get; }

    public string GatewayClientCertificatePath { get; }

    public string GatewayClientThumbprint { get; }

    public X509Certificate2 BackendCertificate { get; }

    public string BackendThumbprint { get; }

    public static DemoSecrets LoadOrCreate(string folder)
    {
        Directory.CreateDirectory(folder);
        var keyPath = Path.Combine(folder, "identity.key");
        if (!File.Exists(keyPath))
        {
            File.WriteAllText(keyPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        }
        var backend = CertificateFiles.LoadOrCreateSelfSigned(Path.Combine(folder, "backend.pfx"), "demo-mailbox-server", ["localhost"]);
        var clientPath = Path.Combine(folder, "gateway-client.pfx");
        var client = CertificateFiles.LoadOrCreateSelfSigned(clientPath, "casgateway-demo", ["casgateway-demo"], clientAuth: true);
        return new DemoSecrets(File.ReadAllText(keyPath).Trim(), clientPath, backend, client);
    }
}
