using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CasGateway.TestSupport;

/// <summary>
/// A private Debian <c>redis-server</c> on a free loopback port, with a password, nothing persisted, in its own temp
/// folder; a foreground child process that <see cref="DisposeAsync"/> stops and waits for.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(string folder, int port, string password)
    {
        Folder = folder;
        Port = port;
        Password = password;
    }

    public string Folder { get; }

    public int Port { get; }

    public string Password { get; }

    /// <summary>The StackExchange.Redis configuration string for <c>Gateway:Redis:Configuration</c>.</summary>
    public string Configuration => $"127.0.0.1:{Port},password={Password}";

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<RedisServer> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("casgw-redis-").FullName;
        var server = new RedisServer(folder, FreePort(), Guid.NewGuid().ToString("N"));
        try
        {
            await server.RestartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Starts the server again on the same port (after <see cref="StopAsync"/>); returns once it answers PING.</summary>
    public async Task RestartAsync()
    {
        var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", Folder,
            "--logfile", Path.Combine(Folder, "redis.log"), "--requirepass", Password,
        })
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await CommandAsync("PING") != "+PONG")
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"redis-server did not answer on port {Port}: " + ReadLog());
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the server (as a crash or an outage would look to clients) and waits for the process to end.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        _process = null;
        if (!process.HasExited)
        {
            process.Kill();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(timeout.Token);
        process.Dispose();
    }

    /// <summary>Sends one inline command after AUTH; the first line of its answer, or null when nothing answers.</summary>
    public async Task<string?> CommandAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"AUTH {Password}\r\n{command}\r\n"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var auth = await reader.ReadLineAsync();
            return auth == "+OK" ? await reader.ReadLineAsync() : auth;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(Folder, recursive: true);
    }

    private string ReadLog()
    {
        var log = Path.Combine(Folder, "redis.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
