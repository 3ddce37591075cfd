using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CasGateway.Listeners;

/// <summary>Loads certificates from PEM or PFX files and makes self-signed ones.</summary>
public static class CertificateFiles
{
    public static X509Certificate2 Load(string path, string? keyPath, string? password)
    {
        var extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".pfx" or ".p12")
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        if (keyPath is null)
        {
            throw new InvalidOperationException($"Certificate '{path}' is PEM and needs a KeyPath (or use a .pfx).");
        }
        var pem = password is null
            ? X509Certificate2.CreateFromPemFile(path, keyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath);
        // Re-import so the private key is usable by SslStream on every platform.
        using (pem)
        {
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
        }
    }

    /// <summary>Loads the PFX at <paramref name="path"/>, creating a self-signed certificate there first if it is missing.</summary>
    public static X509Certificate2 LoadOrCreateSelfSigned(string path, string subjectName, IReadOnlyList<string> dnsNames, bool clientAuth = false)
    {
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using var created = CreateSelfSigned(subjectName, dnsNames, clientAuth);
            var temp = path + ".tmp";
            WritePrivate(temp, created.Export(X509ContentType.Pkcs12));
            File.Move(temp, path, overwrite: true);
        }
        return X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.EphemeralKeySet);
    }

    /// <summary>Writes a file that holds a private key: created readable and writable by its owner only (0600 on Unix).</summary>
    public static void WritePrivate(string path, ReadOnlySpan<byte> content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(path, options))
        {
            stream.Write(content);
        }
        if (!OperatingSystem.IsWindows())
        {
            // An existing file keeps its mode on FileMode.Create: narrow it too.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public static X509Certificate2 CreateSelfSigned(string subjectName, IReadOnlyList<string> dnsNames, bool clientAuth = false, TimeSpan? lifetime = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={subjectName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [clientAuth ? new Oid("1.3.6.1.5.5.7.3.2") : new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + (lifetime ?? TimeSpan.FromDays(365)));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }
}
