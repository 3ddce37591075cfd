using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// HAProxy (Debian package) in TCP mode on 127.0.0.1, in front of the gateway: one frontend sending the PROXY
/// protocol v2 (<c>send-proxy-v2</c>) and one sending v1 (<c>send-proxy</c>). TLS passes through untouched.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly Process _process;

    private HaproxyProcess(Process process, int v2Port, int v1Port)
    {
        _process = process;
        V2Port = v2Port;
        V1Port = v1Port;
    }

    public int V2Port { get; }

    public int V1Port { get; }

    public static async Task<HaproxyProcess> StartAsync(string folder, int gatewayPort)
    {
        var binary = new[] { "/usr/sbin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("HAProxy is not installed (apt-get install -y haproxy; tests/run.sh does it).");
        var v2 = HealthTestKit.FreePort();
        var v1 = HealthTestKit.FreePort();
        var config = Path.Combine(folder, "haproxy.cfg");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global
              maxconn 500
            defaults
              mode tcp
              timeout connect 2s
              timeout client 30s
              timeout server 30s
            frontend proxy_v2
              bind 127.0.0.1:{v2}
              default_backend gateway_v2
            backend gateway_v2
              server gateway 127.0.0.1:{gatewayPort} send-proxy-v2
            frontend proxy_v1
              bind 127.0.0.1:{v1}
              default_backend gateway_v1
            backend gateway_v1
              server gateway 127.0.0.1:{gatewayPort} send-proxy

            """));
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-f", config, "-db" })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        var haproxy = new HaproxyProcess(process, v2, v1);
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
            throw new Xunit.Sdk.XunitException($"HAProxy exited with {process.ExitCode}: {await stderr}");
        }
        return haproxy;
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
