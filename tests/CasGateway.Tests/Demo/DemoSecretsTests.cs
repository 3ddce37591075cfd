using System.Security.Cryptography;
using CasGateway.Demo;
using CasGateway.Listeners;

namespace CasGateway.Tests.Demo;

/// <summary>Issue 15 item 7: every generated file holding a key is readable by its owner only.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DemoSecretsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("casgw-secrets-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Generated_keys_and_certificates_are_mode_0600()
    {
        var secrets = DemoSecrets.LoadOrCreate(_folder);
        using var tls = CertificateFiles.LoadOrCreateSelfSigned(Path.Combine(_folder, "tls", "localhost.pfx"), "localhost", ["localhost"]);
        foreach (var file in new[] { "identity.key", "identity-ecdsa.pem", "backend.pfx", "gateway-client.pfx", Path.Combine("tls", "localhost.pfx") })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_folder, file)));
        }
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(secrets.IdentityPrivateKeyPath));
        Assert.Equal(256, key.KeySize);
    }

    [Fact]
    public void An_existing_key_file_is_narrowed_to_0600_when_rewritten()
    {
        var path = Path.Combine(_folder, "old.key");
        File.WriteAllText(path, "x");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        CertificateFiles.WritePrivate(path, "y"u8);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal("y", File.ReadAllText(path));
    }
}
