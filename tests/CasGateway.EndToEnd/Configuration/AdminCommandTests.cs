using System.Diagnostics;
using System.Text.Json;
using CasGateway.Authentication;
using CasGateway.Routing;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Configuration;

/// <summary>
/// Issue 16 gap: the admin commands as an admin runs them — the gateway binary (<c>dotnet CasGateway.dll …</c>) in
/// its own process. <c>explain</c> answers exactly what a running node's <c>/admin/explain</c> answers for the same
/// configuration; <c>hash-password</c> reads the password from standard input and prints only its hash.
/// </summary>
public sealed class AdminCommandTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?> { ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com" });
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    public static TheoryData<string, string, string?> Requests => new()
    {
        { "/owa/", "bob@contoso.com", null },
        { "/EWS/Exchange.asmx", "carol@contoso.com", "X-AnchorMailbox: bob@contoso.com" },
        { "/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice", "alice@contoso.com", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Explain_command_prints_the_plan_the_running_node_gives(string path, string user, string? header)
    {
        var url = new Uri(_gateway.BaseAddress, path);
        var arguments = new List<string> { "explain", "--url", url.ToString(), "--user", user };
        using var described = new HttpRequestMessage(HttpMethod.Get, path);
        if (header is not null)
        {
            arguments.AddRange(["--header", header]);
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            described.Headers.Add(header[..colon], header[(colon + 1)..].Trim());
        }
        var settings = _topology.GatewaySettings();
        settings["Gateway:DataPath"] = Path.Combine(_topology.Folder, "explain-data");
        arguments.AddRange(["--contentRoot", AppContext.BaseDirectory, "--environment", "Production"]);
        arguments.AddRange(settings.Where(kv => kv.Value is not null).Select(kv => $"--{kv.Key}={kv.Value}"));

        var (exit, output, error) = await RunAsync(arguments);

        Assert.True(exit == 0, $"exit {exit}\n{error}\n{output}");
        var printed = JsonSerializer.Deserialize<ExplainAnswer>(output)!;
        var served = await _client.ExplainAsync(described, user, _topology.Directory.Mailbox("alice@contoso.com"));
        Assert.Equal(served, printed);
        Assert.NotNull(printed.Target);
    }

    [Fact]
    public async Task Hash_password_command_prints_only_a_hash_that_verifies_the_password_typed()
    {
        const string password = "correct horse battery staple";

        var (exit, output, error) = await RunAsync(["hash-password"], password + "\n");

        Assert.True(exit == 0, $"exit {exit}\n{error}");
        Assert.DoesNotContain("correct horse", output + error, StringComparison.Ordinal);
        var hash = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Trim();
        Assert.True(PasswordHash.IsWellFormed(hash), hash);
        Assert.True(PasswordHash.Verify(password, hash));
        Assert.False(PasswordHash.Verify(password + "!", hash));
    }

    /// <summary>Runs the gateway binary with <paramref name="arguments"/>; killed and failed after a minute.</summary>
    private static async Task<(int Exit, string Output, string Error)> RunAsync(IEnumerable<string> arguments, string? input = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "CasGateway.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new Xunit.Sdk.XunitException($"The command did not finish within a minute.\n{await error}\n{await output}");
        }
        return (process.ExitCode, await output, await error);
    }
}
