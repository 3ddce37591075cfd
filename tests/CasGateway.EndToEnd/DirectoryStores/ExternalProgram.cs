using System.Diagnostics;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>Runs the command-line tools the directory servers come with, bounded in time, checking the exit code.</summary>
internal static class ExternalProgram
{
    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, string? input = null, bool check = true)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish within 60 s");
        }
        var text = string.Concat(await output);
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {text}");
        }
        return text;
    }

    /// <summary>Sends SIGINT/SIGTERM (a clean stop; <see cref="Process.Kill()"/> would be SIGKILL) and waits for the exit.</summary>
    public static async Task StopAsync(Process process, string signal = "TERM")
    {
        if (process.HasExited)
        {
            return;
        }
        await RunAsync("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], check: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public static int FreePort() => Mail.DovecotServer.FreePort();

    /// <summary>Polls <paramref name="ready"/> until it holds, failing after <paramref name="limit"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> ready, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await ready())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} not ready within {limit.TotalSeconds} s");
            }
            await Task.Delay(50);
        }
    }

    public static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
