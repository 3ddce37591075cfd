using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.BackendAuth;
using CasGateway.DemoBackend;
using CasGateway.Listeners;

namespace CasGateway.TestSupport;

/// <summary>
/// A small mail deployment on 127.0.0.1 for one test: real TLS mailbox servers that demand the gateway's client
/// certificate and signed identity, a directory file naming them, and the gateway settings that fit.
/// Default contents: mbx1 holds DB01 (alice, carol), mbx2 holds DB02 (bob); each database has a copy on both.
/// </summary>
public sealed class TestTopology : IAsyncDisposable
{
    private readonly Dictionary<string, DemoMailboxServer> _backends = new(StringComparer.OrdinalIgnoreCase);

    private TestTopology(string folder)
    {
        Folder = folder;
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            IdentityPrivateKeyPath = System.IO.Path.Combine(folder, "identity-ecdsa.pem");
            File.WriteAllText(IdentityPrivateKeyPath, key.ExportPkcs8PrivateKeyPem());
            IdentitySigner = EcdsaGatewayIdentityCodec.FromPrivateKeyPem(key.ExportPkcs8PrivateKeyPem(), TimeSpan.Zero);
            IdentityPublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
        }
        BackendCertificate = CertificateFiles.CreateSelfSigned("test-mailbox-server", ["localhost"]);
        ClientCertificate = CertificateFiles.CreateSelfSigned("test-gateway-client", ["gateway"], clientAuth: true);
        ClientCertificatePath = System.IO.Path.Combine(folder, "gateway-client.pfx");
        File.WriteAllBytes(ClientCertificatePath, ClientCertificate.Export(X509ContentType.Pkcs12));
        GatewayCertificate = CertificateFiles.CreateSelfSigned("localhost", ["localhost"]);
        GatewayCertificatePath = System.IO.Path.Combine(folder, "gateway-server.pfx");
        File.WriteAllBytes(GatewayCertificatePath, GatewayCertificate.Export(X509ContentType.Pkcs12));
        Directory = new TestDirectory(System.IO.Path.Combine(folder, "directory.json"));
    }

    public string Folder { get; }

    /// <summary>The gateway's identity signing key (PEM, ECDSA P-256), as the gateway is configured with it.</summary>
    public string IdentityPrivateKeyPath { get; }

    /// <summary>Signs as the gateway does: for tests that play the gateway towards a backend.</summary>
    public EcdsaGatewayIdentityCodec IdentitySigner { get; }

    /// <summary>The public half the backends verify with.</summary>
    public string IdentityPublicKeyPem { get; }

    public X509Certificate2 BackendCertificate { get; }

    public X509Certificate2 ClientCertificate { get; }

    public string ClientCertificatePath { get; }

    public X509Certificate2 GatewayCertificate { get; }

    public string GatewayCertificatePath { get; }

    public TestDirectory Directory { get; }

    /// <summary>What mailbox server <paramref name="fqdn"/> trusts: the gateway's public key, its own name as audience, the gateway's client certificate.</summary>
    public GatewayTrustOptions TrustFor(string fqdn) => new()
    {
        Codec = EcdsaGatewayIdentityCodec.FromPublicKeyPem(IdentityPublicKeyPem, TimeSpan.FromMinutes(1)),
        Audience = fqdn,
        AllowedClientCertificateThumbprints = [ClientCertificate.GetCertHashString(HashAlgorithmName.SHA256)],
    };

    public DemoMailboxServer Backend(string fqdn) => _backends[fqdn];

    public static async Task<TestTopology> StartAsync(int servers = 2, bool populate = true)
    {
        var folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "casgw-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(folder);
        var topology = new TestTopology(folder);
        try
        {
            for (var i = 1; i <= servers; i++)
            {
                await topology.AddServerAsync($"mbx{i}.contoso.com", "Site1", "15.2.1544.4");
            }
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
        if (populate)
        {
            for (var i = 1; i <= servers; i++)
            {
                var name = $"DB0{i}";
                topology.Directory.Databases.Add((name, Guid.NewGuid(), [.. topology.Directory.Servers.Select(s => s.Fqdn)], $"mbx{i}.contoso.com"));
            }
            topology.Directory.AddMailbox("alice@contoso.com", "DB01", true, "alice.smith@contoso.com");
            topology.Directory.AddMailbox("carol@contoso.com", "DB01");
            if (servers > 1)
            {
                topology.Directory.AddMailbox("bob@contoso.com", "DB02");
            }
            topology.Directory.Save();
        }
        return topology;
    }

    /// <summary>
    /// Starts a mailbox server — or a legacy front end, which serves whatever it is sent — and lists it in the
    /// directory (saved by the caller).
    /// </summary>
    public async Task<DemoMailboxServer> AddServerAsync(string fqdn, string site, string version, bool frontEnd = false, Uri? externalUrl = null)
    {
        if (frontEnd)
        {
            Directory.FrontEnds[fqdn] = externalUrl;
        }
        var server = await DemoMailboxServer.StartAsync(new DemoMailboxServerOptions
        {
            ServerName = fqdn,
            Certificate = BackendCertificate,
            Trust = TrustFor(fqdn),
            MountedElsewhere = frontEnd ? null : mailbox => Directory.MountedElsewhere(fqdn, mailbox),
        });
        _backends[fqdn] = server;
        Directory.Servers.Add((fqdn, site, version, server.BaseAddress));
        return server;
    }

    /// <summary>Stops a mailbox server (it stays in the directory, as a dead server would).</summary>
    public async Task StopServerAsync(string fqdn)
    {
        await _backends[fqdn].DisposeAsync();
        _backends.Remove(fqdn);
    }

    /// <summary>Configuration for a gateway in front of this deployment (command-line form keys).</summary>
    public Dictionary<string, string?> GatewaySettings() => new()
    {
        ["Gateway:NodeName"] = "cas-test.contoso.com",
        ["Gateway:DataPath"] = System.IO.Path.Combine(Folder, "data"),
        ["Gateway:Demo:Enabled"] = "false",
        ["Gateway:Listeners:Address"] = "127.0.0.1",
        ["Gateway:Listeners:HttpsPort"] = "0",
        ["Gateway:Listeners:Certificates:0:Path"] = GatewayCertificatePath,
        ["Gateway:Locator:File:Path"] = Directory.Path,
        ["Gateway:Backend:Identity:PrivateKeyPath"] = IdentityPrivateKeyPath,
        ["Gateway:Backend:ClientCertificate:Path"] = ClientCertificatePath,
        ["Gateway:Backend:TrustedServerCertificateThumbprints:0"] = BackendCertificate.GetCertHashString(HashAlgorithmName.SHA256),
        ["Gateway:Backend:ConnectTimeout"] = "00:00:02",
        ["Serilog:MinimumLevel:Default"] = "Warning",
        ["Serilog:WriteTo:File:Args:configure:0:Args:path"] = LogFilePattern,
    };

    /// <summary>Where the gateway's rolling log files go (<c>casgateway-&lt;date&gt;.json</c>).</summary>
    public string LogFilePattern => System.IO.Path.Combine(Folder, "logs", "casgateway-.json");

    public async ValueTask DisposeAsync()
    {
        IdentitySigner.Dispose();
        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }
        _backends.Clear();
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a stopping server; the temp folder is cleaned by the OS.
        }
    }
}
