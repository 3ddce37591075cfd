using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// HAProxy (Debian package) in TCP mode on 127.0.0.1, in front of the gateway: one frontend sending the PROXY
/// protocol v2 (<c>send-proxy-v2</c>) and one sending v1 (<c>send-proxy</c>). TLS passes through untouched.
/// Optionally the v2 backend health-checks the gateway's <c>/owa/healthcheck.htm</c> as a production setup would.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log;

    private HaproxyProcess(Process process, ConcurrentQueue<string> log, int v2Port, int v1Port)
    {
        _process = process;
        _log = log;
        V2Port = v2Port;
        V1Port = v1Port;
    }

    public int V2Port { get; }

    public int V1Port { get; }

    /// <summary>What HAProxy printed (with health checks on: server state changes).</summary>
    public string Log => string.Join('\n', _log);

    /// <summary>How many lines HAProxy has printed so far.</summary>
    public int LineCount => _log.Count;

    /// <summary>Whether a line printed after the first <paramref name="skip"/> contains <paramref name="text"/>.</summary>
    public bool SaidSince(int skip, string text) => _log.Skip(skip).Any(line => line.Contains(text, StringComparison.Ordinal));

    public static async Task<HaproxyProcess> StartAsync(string folder, int gatewayPort, bool healthChecks = false)
    {
        var v2 = HealthTestKit.FreePort();
        var v1 = HealthTestKit.FreePort();
        var config = Path.Combine(folder, "haproxy.cfg");
        var check = healthChecks
            ? "\n  option httpchk GET /owa/healthcheck.htm\n  http-check expect status 200\n  timeout check 2s"
            : "";
        var checkServer = healthChecks ? " check check-ssl verify none inter 200 fall 1 rise 1" : "";
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global
              maxconn 500
              log stderr format short local0 info
            defaults
              log global
              mode tcp
              timeout connect 2s
              timeout client 30s
              timeout server 30s
            frontend proxy_v2
              bind 127.0.0.1:{v2}
              default_backend gateway_v2
            backend gateway_v2{check}
              server gateway 127.0.0.1:{gatewayPort} send-proxy-v2{checkServer}
            frontend proxy_v1
              bind 127.0.0.1:{v1}
              default_backend gateway_v1
            backend gateway_v1
              server gateway 127.0.0.1:{gatewayPort} send-proxy

            """));
        var (process, log) = Launch(config);
        var haproxy = new HaproxyProcess(process, log, v2, v1);
        try
        {
            await HealthTestKit.EventuallyAsync(() => process.HasExited || (Accepts(v2) && Accepts(v1)), TimeSpan.FromSeconds(10), "HAProxy listening");
        }
        catch (Xunit.Sdk.XunitException)
        {
            await haproxy.DisposeAsync();
            throw;
        }
        if (process.HasExited)
        {
            throw new Xunit.Sdk.XunitException($"HAProxy exited with {process.ExitCode}: {haproxy.Log}");
        }
        return haproxy;
    }

    /// <summary>Starts HAProxy in the foreground on <paramref name="config"/>, collecting everything it prints.</summary>
    internal static (Process Process, ConcurrentQueue<string> Log) Launch(string config)
    {
        var binary = new[] { "/usr/sbin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("HAProxy is not installed (apt-get install -y haproxy; tests/run.sh does it).");
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-f", config, "-db" })
        {
            start.ArgumentList.Add(argument);
        }
        var log = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Enqueue(e.Data);
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var probe = new TcpClient();
            probe.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
