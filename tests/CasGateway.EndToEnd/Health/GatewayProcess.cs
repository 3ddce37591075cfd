using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// The gateway as its own process (<c>dotnet CasGateway.dll</c>, settings on the command line), for what only a
/// process can show: how it reacts to signals. Its console output is kept for assertions and failure messages.
/// </summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private GatewayProcess(Process process, ConcurrentQueue<string> output, Uri baseAddress)
    {
        _process = process;
        _output = output;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public static async Task<GatewayProcess> StartAsync(IDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "CasGateway.dll"), "--contentRoot", AppContext.BaseDirectory, "--environment", "Production" })
        {
            start.ArgumentList.Add(argument);
        }
        // Standard output as the log, as under systemd or in a container (the production settings log to the file only):
        // the listener line and every assertion on the output read it.
        var withConsole = new Dictionary<string, string?>(settings);
        withConsole.TryAdd("Serilog:WriteTo:Console:Name", "Batched");
        withConsole.TryAdd("Serilog:WriteTo:Console:Args:configure:0:Name", "Console");
        foreach (var (key, value) in withConsole.Where(kv => kv.Value is not null))
        {
            start.ArgumentList.Add($"--{key}={value}");
        }
        var output = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            output.Enqueue(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("The gateway process exited during start-up."));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
            return new GatewayProcess(process, output, address);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            throw new Xunit.Sdk.XunitException($"The gateway process did not start: {ex.Message}\n{string.Join('\n', output)}");
        }
    }

    /// <summary>Sends a signal with <c>kill</c>, as an orchestrator would.</summary>
    public async Task SignalAsync(string signal = "TERM")
    {
        using var kill = Process.Start("kill", $"-{signal} {_process.Id}");
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for the process to exit; returns its exit code, or fails after <paramref name="within"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(within);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"The gateway process did not exit within {within.TotalSeconds:0.#} s.\n{Output}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (https://\S+)")]
    private static partial Regex ListeningLine();
}
