using System.Diagnostics;
using System.Text.Json;

namespace CasGateway.EndToEnd.Autodiscover;

/// <summary>
/// Issue 21: a real Autodiscover client library — ews-javascript-api, the JavaScript port of the EWS Managed API
/// (no .NET EWS client is served by the package registries reachable here) — asks the gateway's SOAP Autodiscover
/// over TLS. tests/run.sh installs it (npm ci in Autodiscover/ews-client).
/// </summary>
public sealed class AutodiscoverClientLibraryTests(AutodiscoverDeployment deployment) : IClassFixture<AutodiscoverDeployment>
{
    [Fact]
    public async Task The_EWS_Managed_API_port_reads_user_settings_redirects_and_errors()
    {
        var folder = ClientFolder();
        var pem = Path.Combine(deployment.Topology.Folder, "gateway-ca.pem");
        await File.WriteAllTextAsync(pem, deployment.Gateway.ServerCertificate.ExportCertificatePem());
        var alice = deployment.Mailbox("alice");
        var url = $"https://localhost:{deployment.Gateway.BaseAddress.Port}/autodiscover/autodiscover.svc";

        var output = await RunNodeAsync(folder, pem, "get-user-settings.js", url, alice.Address, alice.Password, "alice@contoso.com", "bob@contoso.com", "cloudy@contoso.com");

        using var json = JsonDocument.Parse(output);
        Assert.Equal("NoError", json.RootElement.GetProperty("ErrorCode").GetString());
        var responses = json.RootElement.GetProperty("Responses").EnumerateArray().ToList();
        Assert.Equal(3, responses.Count);
        Assert.Equal("NoError", responses[0].GetProperty("ErrorCode").GetString());
        var settings = responses[0].GetProperty("Settings");
        Assert.Equal("alice@contoso.com", settings.GetProperty("UserDisplayName").GetString());
        Assert.Equal(AutodiscoverDeployment.DeploymentId.ToString("D"), settings.GetProperty("UserDeploymentId").GetString());
        Assert.Equal("https://cas.contoso.local/EWS/Exchange.asmx", settings.GetProperty("InternalEwsUrl").GetString());
        Assert.Equal("https://mail.contoso.com/EWS/Exchange.asmx", settings.GetProperty("ExternalEwsUrl").GetString());
        Assert.Equal($"{alice.Guid:D}@contoso.com", settings.GetProperty("InternalMailboxServer").GetString());
        Assert.Equal($"{alice.Guid:D}@contoso.com", settings.GetProperty("ExternalMailboxServer").GetString());
        Assert.Equal("15.2.1544.4", settings.GetProperty("CasVersion").GetString());
        Assert.Equal("dc1.contoso.com", settings.GetProperty("ActiveDirectoryServer").GetString());
        Assert.Contains("Exchange2016", settings.GetProperty("EwsSupportedSchemas").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, responses[0].GetProperty("SettingErrors").GetArrayLength());
        Assert.Equal("InvalidUser", responses[1].GetProperty("ErrorCode").GetString());
        Assert.Equal("InvalidUser", responses[2].GetProperty("ErrorCode").GetString());
        Assert.DoesNotContain(deployment.Mailbox("bob").Guid.ToString("D"), output, StringComparison.OrdinalIgnoreCase);

        var cloudy = deployment.Mailbox("cloudy");
        output = await RunNodeAsync(folder, pem, "get-user-settings.js", url, cloudy.Address, cloudy.Password, "cloudy@contoso.com");
        using var redirect = JsonDocument.Parse(output);
        var only = redirect.RootElement.GetProperty("Responses")[0];
        Assert.Equal("RedirectAddress", only.GetProperty("ErrorCode").GetString());
        Assert.Equal("cloudy@contoso.mail.onmicrosoft.com", only.GetProperty("RedirectTarget").GetString());
    }

    /// <summary>The client's folder in the source tree, with its packages installed.</summary>
    private static string ClientFolder()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "tests", "CasGateway.EndToEnd", "Autodiscover", "ews-client");
            if (Directory.Exists(candidate))
            {
                Assert.True(Directory.Exists(Path.Combine(candidate, "node_modules", "ews-javascript-api")),
                    $"ews-javascript-api is not installed: run `npm ci --prefix {candidate}` (tests/run.sh does).");
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/CasGateway.EndToEnd/Autodiscover/ews-client not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs node with the gateway's certificate as the one extra trusted root; stdout, or a failure with stderr.</summary>
    private static async Task<string> RunNodeAsync(string folder, string trustedPem, params string[] arguments)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["NODE_EXTRA_CA_CERTS"] = trustedPem;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr} {await stdout}");
        return (await stdout).Trim();
    }
}
