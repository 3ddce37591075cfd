using CasGateway.Configuration;
using CasGateway.Listeners;
using Microsoft.AspNetCore.DataProtection;

namespace CasGateway.Scale;

public static class KeyRingStage
{
    /// <summary>Data Protection with the key ring chosen by <c>Gateway:KeyRing</c>.</summary>
    public static WebApplicationBuilder AddKeyRing(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<KeyRingOptions>(KeyRingOptions.Section);
        var options = builder.Configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>() ?? new();
        var root = builder.Environment.ContentRootPath;
        var protection = builder.Services.AddDataProtection().SetApplicationName(options.ApplicationName);
        switch (options.Kind)
        {
            case KeyRingKind.Redis:
                var redis = builder.Services.AddSharedRedis(builder.Configuration);
                protection.PersistKeysToStackExchangeRedis(() => redis.Database, redis.Key(options.RedisKey));
                break;
            case KeyRingKind.Directory:
                protection.PersistKeysToFileSystem(new DirectoryInfo(Path.GetFullPath(options.Path!, root)));
                break;
            default:
                var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new();
                protection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(builder.Environment.ResolveDataPath(gateway), "keys")));
                break;
        }
        if (options.Certificate is { } current)
        {
            var certificate = Load(current, root);
            protection.ProtectKeysWithCertificate(certificate)
                .UnprotectKeysWithAnyCertificate([certificate, .. options.PreviousCertificates.Select(c => Load(c, root))]);
        }
        return builder;
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 Load(Forwarding.ClientCertificateOptions file, string root)
        => CertificateFiles.Load(Path.GetFullPath(file.Path, root), file.KeyPath is { } key ? Path.GetFullPath(key, root) : null, file.Password);
}
