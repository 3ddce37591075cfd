using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Security;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// One test's mail deployment: the real gateway (IMAP and POP3 listeners on free ports, both TLS modes) in front of
/// the class's two Dovecot servers, reached through counting forwarders; the directory puts alice and carol on
/// mbx1 and bob on mbx2. The gateway logs to a JSON file the test can read.
/// </summary>
public sealed class MailDeployment : IAsyncDisposable
{
    private readonly List<(TcpForwarder Forwarder, bool Smtp)> _forwarders;
    private readonly string _gatewayLogPath;

    private MailDeployment(DovecotPair dovecot, TestTopology topology, TestGateway gateway, List<(TcpForwarder Forwarder, bool Smtp)> forwarders, string gatewayLogPath)
    {
        Dovecot = dovecot;
        Topology = topology;
        Gateway = gateway;
        _forwarders = forwarders;
        _gatewayLogPath = gatewayLogPath;
    }

    public DovecotPair Dovecot { get; }

    public TestTopology Topology { get; }

    public TestGateway Gateway { get; }

    /// <summary>Connections the gateway opened to any Dovecot so far.</summary>
    public int BackendConnections => _forwarders.Where(f => !f.Smtp).Sum(f => f.Forwarder.Accepted);

    /// <summary>Connections the gateway opened to any mailbox server's SMTP endpoint so far.</summary>
    public int SmtpBackendConnections => _forwarders.Where(f => f.Smtp).Sum(f => f.Forwarder.Accepted);

    /// <summary>
    /// Starts the gateway; with <paramref name="smtpPorts"/> (each server's Postfix port, null for a server whose SMTP
    /// is down) also its SMTP listeners — submission with STARTTLS and implicit TLS, and inbound — in front of them.
    /// </summary>
    public static async Task<MailDeployment> StartAsync(
        DovecotPair dovecot, MailBackendTls backendTls = MailBackendTls.ImplicitTls, IDictionary<string, string?>? overrides = null,
        IReadOnlyDictionary<string, int?>? smtpPorts = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var topology = await TestTopology.StartAsync();
        var forwarders = new List<(TcpForwarder Forwarder, bool Smtp)>();
        foreach (var server in dovecot.Servers)
        {
            var implicitTls = backendTls == MailBackendTls.ImplicitTls;
            var imap = TcpForwarder.To(implicitTls ? server.ImapsPort : server.ImapPort);
            var pop = TcpForwarder.To(implicitTls ? server.PopsPort : server.PopPort);
            forwarders.Add((imap, false));
            forwarders.Add((pop, false));
            topology.Directory.MailEndpoints[server.Name] = (imap.Endpoint, pop.Endpoint);
        }
        foreach (var (server, port) in smtpPorts ?? new Dictionary<string, int?>())
        {
            if (port is { } up)
            {
                var smtp = TcpForwarder.To(up);
                forwarders.Add((smtp, true));
                topology.Directory.SmtpEndpoints[server] = smtp.Endpoint;
            }
            else
            {
                topology.Directory.SmtpEndpoints[server] = $"127.0.0.1:{DovecotServer.FreePort()}";
            }
        }
        topology.Directory.Save();
        var logPath = Path.Combine(topology.Folder, "gateway.json");
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Mail:Imap:ImplicitTlsPort"] = "0",
            ["Gateway:Mail:Imap:StartTlsPort"] = "0",
            ["Gateway:Mail:Pop:ImplicitTlsPort"] = "0",
            ["Gateway:Mail:Pop:StartTlsPort"] = "0",
            ["Gateway:Mail:FailedAttemptDelay"] = "00:00:00.200",
            ["Gateway:Mail:Backend:MasterUser"] = DovecotServer.MasterUser,
            ["Gateway:Mail:Backend:MasterPassword"] = dovecot.MasterPassword,
            ["Gateway:Mail:Backend:Tls"] = backendTls.ToString(),
            ["Gateway:Mail:Backend:TrustedCertificateThumbprints:0"] = dovecot.Servers[0].Certificate.GetCertHashString(HashAlgorithmName.SHA256),
            ["Gateway:Mail:Backend:TrustedCertificateThumbprints:1"] = dovecot.Servers[1].Certificate.GetCertHashString(HashAlgorithmName.SHA256),
            ["Serilog:Using:0"] = "Serilog.Sinks.File",
            ["Serilog:WriteTo:0:Name"] = "File",
            ["Serilog:WriteTo:0:Args:path"] = logPath,
            ["Serilog:WriteTo:0:Args:formatter"] = "Serilog.Formatting.Compact.CompactJsonFormatter, Serilog.Formatting.Compact",
            ["Serilog:MinimumLevel:Override:CasGateway.Mail"] = "Information",
        };
        if (smtpPorts is not null)
        {
            settings["Gateway:Mail:Smtp:SubmissionPort"] = "0";
            settings["Gateway:Mail:Smtp:SubmissionImplicitTlsPort"] = "0";
            settings["Gateway:Mail:Smtp:InboundPort"] = "0";
            settings["Gateway:Mail:Smtp:HostName"] = "cas.contoso.com";
            settings["Gateway:Mail:Smtp:BackendTls"] = nameof(MailBackendTls.None);
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        TestGateway gateway;
        try
        {
            gateway = await TestGateway.StartAsync(topology, settings, services);
        }
        catch
        {
            await Cleanup.DisposeAllAsync([.. forwarders.Select(f => f.Forwarder), topology]);
            throw;
        }
        return new MailDeployment(dovecot, topology, gateway, forwarders, logPath);
    }

    public IPEndPoint EndPoint(MailProtocol protocol, bool implicitTls = true, bool inbound = false)
        => Gateway.GetRequiredService<MailListeners>().EndPointOf(protocol, implicitTls, inbound);

    /// <summary>A MailKit IMAP client connected to the gateway (not logged in), trusting exactly its certificate.</summary>
    public async Task<ImapClient> ConnectImapAsync(bool implicitTls = true)
    {
        var client = new ImapClient { Timeout = 30_000 };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => IsGateway(certificate);
        var endPoint = EndPoint(MailProtocol.Imap, implicitTls);
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, implicitTls ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls);
        return client;
    }

    /// <summary>A MailKit POP3 client connected to the gateway (not logged in), trusting exactly its certificate.</summary>
    public async Task<Pop3Client> ConnectPopAsync(bool implicitTls = true)
    {
        var client = new Pop3Client { Timeout = 30_000 };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => IsGateway(certificate);
        var endPoint = EndPoint(MailProtocol.Pop3, implicitTls);
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, implicitTls ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls);
        return client;
    }

    /// <summary>An IMAP client logged in as <paramref name="address"/> with its directory password.</summary>
    public async Task<ImapClient> LoginImapAsync(string address)
    {
        var client = await ConnectImapAsync();
        await client.AuthenticateAsync(address, TestDirectory.PasswordOf(address));
        return client;
    }

    /// <summary>A raw connection for speaking the protocol by hand.</summary>
    public Task<RawMailConnection> ConnectRawAsync(MailProtocol protocol, bool implicitTls = true)
        => RawMailConnection.OpenAsync(EndPoint(protocol, implicitTls), implicitTls ? Gateway.ServerCertificate : null);

    /// <summary>The gateway's session events (one per finished session), waiting up to 5 s for <paramref name="count"/> of them.</summary>
    public async Task<IReadOnlyList<JsonElement>> SessionEventsAsync(int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var events = ReadGatewayLog()
                .Where(e => e.TryGetProperty("Outcome", out _) && e.TryGetProperty("BytesToClient", out _))
                .ToList();
            if (events.Count >= count || DateTime.UtcNow > deadline)
            {
                return events;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Everything the gateway logged, as written to its log file.</summary>
    public string ReadGatewayLogText()
    {
        if (!File.Exists(_gatewayLogPath))
        {
            return "";
        }
        using var stream = new FileStream(_gatewayLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Writes the gateway's and Dovecot's logs to the test output (shown when the test fails).</summary>
    public void WriteLogs(ITestOutputHelper output)
    {
        output.WriteLine("--- gateway log ---");
        output.WriteLine(ReadGatewayLogText());
        foreach (var server in Dovecot.Servers)
        {
            output.WriteLine($"--- Dovecot {server.Name} log ---");
            output.WriteLine(server.ReadNewLog());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cleanup.DisposeAllAsync([Gateway, .. _forwarders.Select(f => f.Forwarder), Topology]);
    }

    /// <summary>The complete JSON lines of the log (a line still being written is left for the next read).</summary>
    private List<JsonElement> ReadGatewayLog()
    {
        var text = ReadGatewayLogText();
        return [.. text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    private bool IsGateway(X509Certificate? certificate)
        => certificate is not null
            && certificate.GetCertHashString(HashAlgorithmName.SHA256) == Gateway.ServerCertificate.GetCertHashString(HashAlgorithmName.SHA256);
}
