namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// The mailbox tier for the SMTP tests, started once per test class: the two Dovecot servers (also taking mail over
/// LMTP) and in front of each a Postfix as its transport. Each Postfix accepts every test user and delivers over
/// LMTP to the Dovecot holding that user's mailbox as the test directory places it (alice and carol on mbx1, bob on
/// mbx2). mbx1 takes messages up to 40 MB, mbx2 up to 1 MB (to see a mailbox server refuse a message).
/// </summary>
public sealed class SmtpPeers : IAsyncLifetime
{
    public const long Mbx1SizeLimit = 40L * 1024 * 1024;
    public const long Mbx2SizeLimit = 1024 * 1024;

    /// <summary>Where the test directory (TestTopology) puts each user's mailbox.</summary>
    public static readonly IReadOnlyDictionary<string, string> HomeOf = new Dictionary<string, string>
    {
        ["alice@contoso.com"] = "mbx1.contoso.com",
        ["bob@contoso.com"] = "mbx2.contoso.com",
        ["carol@contoso.com"] = "mbx1.contoso.com",
    };

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "casgw-postfix-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<PostfixServer> _postfix = [];

    public DovecotPair Dovecot { get; } = new(lmtp: true);

    public PostfixServer Postfix(string fqdn) => _postfix.Single(p => p.Name == fqdn);

    /// <summary>The SMTP port of each mailbox server's Postfix, by server name.</summary>
    public IReadOnlyDictionary<string, int?> SmtpPorts => _postfix.ToDictionary(p => p.Name, p => (int?)p.SmtpPort);

    public async Task InitializeAsync()
    {
        await Dovecot.InitializeAsync();
        var lmtpPortOf = HomeOf.ToDictionary(home => home.Key, home => Dovecot.Server(home.Value).LmtpPort);
        var starting = new[] { ("mbx1.contoso.com", Mbx1SizeLimit), ("mbx2.contoso.com", Mbx2SizeLimit) }
            .Select(server => PostfixServer.StartAsync(server.Item1, Path.Combine(_folder, server.Item1.Split('.')[0]), lmtpPortOf, server.Item2))
            .ToList();
        try
        {
            _postfix.AddRange(await Task.WhenAll(starting));
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }
            await Dovecot.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            foreach (var postfix in _postfix)
            {
                await postfix.DisposeAsync();
            }
        }
        finally
        {
            await Dovecot.DisposeAsync();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A Postfix process still finishing; the temp folder is cleaned by the OS.
        }
    }
}
