using System.Security.Cryptography;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Two Dovecot mailbox servers for a test class: mbx1.contoso.com and mbx2.contoso.com, each knowing every test
/// user (as database copies would) but with its own mail, whose marker message shows which server answered.
/// </summary>
public sealed class DovecotPair : IAsyncLifetime
{
    public static readonly string[] Users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "casgw-dovecot-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<DovecotServer> _servers = [];
    private readonly bool _lmtp;

    public DovecotPair()
    {
    }

    /// <summary>A pair that also takes mail over LMTP (for Postfix in front of it), for a fixture that owns it.</summary>
    internal DovecotPair(bool lmtp) => _lmtp = lmtp;

    public string MasterPassword { get; } = "master-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    public IReadOnlyList<DovecotServer> Servers => _servers;

    public DovecotServer Server(string fqdn) => _servers.Single(s => s.Name == fqdn);

    public async Task InitializeAsync()
    {
        try
        {
            foreach (var name in new[] { "mbx1.contoso.com", "mbx2.contoso.com" })
            {
                _servers.Add(await DovecotServer.StartAsync(name, Path.Combine(_folder, name.Split('.')[0]), Users, MasterPassword, _lmtp));
            }
        }
        catch
        {
            // The first server is stopped if the second cannot start.
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A Dovecot process still finishing; the temp folder is cleaned by the OS.
        }
    }
}
