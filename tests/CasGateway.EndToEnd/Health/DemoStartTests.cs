using System.Net;
using System.Text.Json;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// Issue 16: a clean start of the demo (its mailbox servers in the gateway's own process, started after the routes
/// are built) says one line per listener — no probe of a server that does not listen yet, no stack trace — and its
/// readiness already rests on YARP's first round of probes.
/// </summary>
[Collection(LoadSensitive.Name)]
public sealed class DemoStartTests : IAsyncLifetime
{
    private DirectoryInfo _folder = null!;
    private GatewayProcess? _process;

    public async Task InitializeAsync()
    {
        _folder = Directory.CreateTempSubdirectory("casgw-demo-start-");
        // The demo directory with its two servers moved to free ports, so a demo running on this machine does not matter.
        var directory = (await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Demo", "directory.json")))
            .Replace("127.0.0.1:8444", $"127.0.0.1:{HealthTestKit.FreePort()}", StringComparison.Ordinal)
            .Replace("127.0.0.1:8445", $"127.0.0.1:{HealthTestKit.FreePort()}", StringComparison.Ordinal);
        var directoryPath = Path.Combine(_folder.FullName, "directory.json");
        await File.WriteAllTextAsync(directoryPath, directory);
        _process = await GatewayProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Demo:Enabled"] = "true",
            ["Gateway:DataPath"] = Path.Combine(_folder.FullName, "data"),
            ["Gateway:Listeners:Address"] = "127.0.0.1",
            ["Gateway:Listeners:HttpsPort"] = "0",
            ["Gateway:Locator:File:Path"] = directoryPath,
        });
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task A_clean_start_logs_one_line_per_listener_and_no_probe_failure()
    {
        var process = _process!;
        await HealthTestKit.EventuallyAsync(() => process.Output.Contains("Started.", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the start-up line after the listeners");
        var lines = process.Output.Split('\n');

        Assert.Single(lines, l => l.Contains("Now listening on:", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l.Contains("Demo mailbox server", StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, l => l.Contains("Probing destination", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(" ERR]", StringComparison.Ordinal) || l.Contains(" FTL]", StringComparison.Ordinal));
        // The one warning a first start may give is the key ring's (keys at rest unencrypted without a certificate).
        Assert.DoesNotContain(lines, l => l.Contains(" WRN]", StringComparison.Ordinal) && !l.Contains("No XML encryptor configured", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        // Ready from the first request, on YARP's first round of probes, which ran before the listener opened.
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        }) { BaseAddress = process.BaseAddress };
        using var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var backends = body.RootElement.GetProperty("dependencies").GetProperty("checks").GetProperty("backends");
        Assert.Equal("2 of 2 mailbox server(s) reachable", backends.GetProperty("description").GetString());
        foreach (var server in new[] { "mbx1.contoso.com", "mbx2.contoso.com" })
        {
            Assert.StartsWith("reachable (active probe: Healthy,", backends.GetProperty("data").GetProperty(server).GetString(), StringComparison.Ordinal);
        }
    }
}
