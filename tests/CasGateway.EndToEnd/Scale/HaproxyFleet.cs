using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CasGateway.EndToEnd.Health;

namespace CasGateway.EndToEnd.Scale;

/// <summary>
/// HAProxy (Debian package) in front of several gateway nodes as <c>deploy/haproxy/haproxy.cfg</c> sets it up — TCP
/// mode, round robin, <c>send-proxy-v2</c>, each node checked on <c>/owa/healthcheck.htm</c> over TLS, a failed
/// connect redispatched to another node — on loopback ports and with test timings. Its statistics socket tells the
/// test what HAProxy thinks of each node and how many connections it sent there.
/// </summary>
public sealed class HaproxyFleet : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log;
    private readonly string _socket;

    private HaproxyFleet(Process process, ConcurrentQueue<string> log, string socket, int port, TimeSpan checkInterval, int fall)
    {
        _process = process;
        _log = log;
        _socket = socket;
        Port = port;
        CheckInterval = checkInterval;
        Fall = fall;
    }

    /// <summary>The HTTPS frontend clients connect to.</summary>
    public int Port { get; }

    /// <summary>How often each node's health page is checked.</summary>
    public TimeSpan CheckInterval { get; }

    /// <summary>Failed checks in a row that take a node out.</summary>
    public int Fall { get; }

    public string Log => string.Join('\n', _log);

    /// <summary>The name HAProxy knows node <paramref name="index"/> by (0-based): <c>cas1</c>, <c>cas2</c>…</summary>
    public static string ServerName(int index) => "cas" + (index + 1).ToString(CultureInfo.InvariantCulture);

    public static async Task<HaproxyFleet> StartAsync(string folder, IReadOnlyList<int> nodePorts)
    {
        var port = HealthTestKit.FreePort();
        var socket = Path.Combine(folder, "haproxy.sock");
        var config = Path.Combine(folder, "haproxy-fleet.cfg");
        // A check's TLS handshake must finish within the interval: 1 s keeps a loaded test machine from flapping.
        var interval = TimeSpan.FromSeconds(1);
        const int fall = 2;
        var servers = string.Join("\n", nodePorts.Select((p, i) =>
            string.Create(CultureInfo.InvariantCulture, $"  server {ServerName(i)} 127.0.0.1:{p} check check-ssl verify none")));
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            global
              maxconn 2000
              log stderr format short local0 info
              stats socket {socket} mode 600 level admin
            defaults
              log global
              mode tcp
              timeout connect 2s
              timeout client 30s
              timeout server 30s
              timeout check 2s
              retries 2
              option redispatch 1
              default-server inter {interval.TotalMilliseconds:0} fall {fall} rise 2 send-proxy-v2 check-send-proxy
            frontend https
              bind 127.0.0.1:{port}
              default_backend cas_https
            backend cas_https
              balance roundrobin
              option httpchk GET /owa/healthcheck.htm
              http-check expect status 200
            {servers}

            """));
        var (process, log) = HaproxyProcess.Launch(config);
        var haproxy = new HaproxyFleet(process, log, socket, port, interval, fall);
        try
        {
            await HealthTestKit.EventuallyAsync(async () => process.HasExited || (await haproxy.TryServersAsync()) is not null,
                TimeSpan.FromSeconds(10), "HAProxy answering on its statistics socket");
            if (process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"HAProxy exited with {process.ExitCode}: {haproxy.Log}");
            }
        }
        catch
        {
            await haproxy.DisposeAsync();
            throw;
        }
        return haproxy;
    }

    /// <summary>What HAProxy says of each node right now (<c>show stat</c>), by server name.</summary>
    public async Task<IReadOnlyDictionary<string, ServerStat>> ServersAsync()
        => await TryServersAsync() ?? throw new Xunit.Sdk.XunitException("HAProxy's statistics socket did not answer.\n" + Log);

    /// <summary>Waits until HAProxy has every node in rotation.</summary>
    public Task<TimeSpan> WaitAllUpAsync(TimeSpan within)
        => HealthTestKit.EventuallyAsync(async () => (await ServersAsync()).Values.All(s => s.Status == "UP"), within, "HAProxy with every node UP\n" + Log);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private async Task<IReadOnlyDictionary<string, ServerStat>?> TryServersAsync()
    {
        string text;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socket));
            await socket.SendAsync(Encoding.ASCII.GetBytes("show stat\n"));
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            text = await reader.ReadToEndAsync();
        }
        catch (SocketException)
        {
            return null;
        }
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || !lines[0].StartsWith("# ", StringComparison.Ordinal))
        {
            return null;
        }
        var header = lines[0][2..].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var (proxy, server, status, sessions, redispatches) = (Column("pxname"), Column("svname"), Column("status"), Column("stot"), Column("wredis"));
        static long Number(string value) => value.Length == 0 ? 0 : long.Parse(value, CultureInfo.InvariantCulture);
        return lines.Skip(1).Select(l => l.Split(','))
            .Where(f => f[proxy] == "cas_https" && f[server] is not ("FRONTEND" or "BACKEND"))
            .ToDictionary(f => f[server], f => new ServerStat(f[status], Number(f[sessions]), Number(f[redispatches])));
    }
}

/// <summary>One node as HAProxy sees it: UP/DOWN, connections sent there, and connections redispatched from it (connect failed).</summary>
public sealed record ServerStat(string Status, long Sessions, long Redispatches);
