using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// Issue 6: the client's real address behind a balancer — PROXY protocol from HAProxy in TCP mode (trusted or not),
/// and <c>X-Forwarded-For</c> only from trusted proxies. The client connects from 127.0.0.2 so it is told apart
/// from HAProxy, which reaches the gateway from 127.0.0.1. Alone in its collection: the gateway's Serilog logger is
/// the process-wide one, so a host started meanwhile by another test would take over the log file these tests read.
/// </summary>
[Collection(LoadSensitive.Name)]
public sealed class ClientAddressTests : IAsyncLifetime
{
    private static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");
    private TestTopology _topology = null!;

    public async Task InitializeAsync() => _topology = await TestTopology.StartAsync();

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_topology);

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task Haproxy_proxy_protocol_gives_backends_and_logs_the_real_client_address(int version)
    {
        var log = Path.Combine(_topology.Folder, "gateway.log");
        await using var gateway = await TestGateway.StartAsync(_topology, LoggingTo(log, "127.0.0.1"));
        await using var haproxy = await HaproxyProcess.StartAsync(_topology.Folder, gateway.BaseAddress.Port);
        using var client = ClientFrom(ClientAddress, version == 2 ? haproxy.V2Port : haproxy.V1Port);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        var answer = await (await client.SendAsync(request)).ReadAnswerAsync();
        using var refused = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        refused.Headers.Authorization = TestGateway.Basic("alice@contoso.com", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(refused)).StatusCode);

        Assert.Equal("127.0.0.2", answer.IdentityClientIp);
        Assert.Equal("127.0.0.2", answer.ForwardedFor);
        await HealthTestKit.EventuallyAsync(() => ReadLog(log).Contains("Basic authentication failed for alice@contoso.com from 127.0.0.2", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), "the refusal logged with the client's address");
    }

    [Fact]
    public async Task A_proxy_header_from_an_untrusted_address_is_refused_and_logged()
    {
        var log = Path.Combine(_topology.Folder, "gateway.log");
        await using var gateway = await TestGateway.StartAsync(_topology, LoggingTo(log, "127.0.0.3"));
        await using var haproxy = await HaproxyProcess.StartAsync(_topology.Folder, gateway.BaseAddress.Port);
        var before = _topology.Backend("mbx1.contoso.com").Requests;

        using var viaHaproxy = ClientFrom(ClientAddress, haproxy.V2Port);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        await Assert.ThrowsAsync<HttpRequestException>(() => viaHaproxy.SendAsync(request));
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
        await HealthTestKit.EventuallyAsync(() => ReadLog(log).Contains("Refused a PROXY v2 header from untrusted address", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), "the refusal logged");

        // Without a PROXY header the same address is an ordinary client, known by its socket's address.
        using var direct = gateway.CreateClient();
        using var plain = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        plain.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        Assert.Equal("127.0.0.1", (await (await direct.SendAsync(plain)).ReadAnswerAsync()).IdentityClientIp);
    }

    [Fact]
    public async Task A_connection_from_a_balancer_that_sends_nothing_is_closed_after_the_header_timeout()
    {
        var settings = HealthTestKit.Settings();
        settings["Gateway:Listeners:ProxyProtocol:TrustedBalancers:0"] = "127.0.0.1";
        settings["Gateway:Listeners:ProxyProtocol:HeaderTimeout"] = "00:00:00.500";
        await using var gateway = await TestGateway.StartAsync(_topology, settings);

        using var silent = new System.Net.Sockets.TcpClient();
        await silent.ConnectAsync(System.Net.IPAddress.Loopback, gateway.BaseAddress.Port);
        var waited = Stopwatch.StartNew();
        var buffer = new byte[16];
        int read;
        try
        {
            read = await silent.GetStream().ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (IOException)
        {
            read = 0;
        }
        waited.Stop();
        Assert.Equal(0, read);
        // Closed by the 0.5 s header timeout (not the 10 s default), with an honest margin for a loaded machine.
        Assert.InRange(waited.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Haproxy_health_checks_take_a_drained_node_out_and_put_it_back()
    {
        var settings = HealthTestKit.Settings();
        settings["Gateway:Listeners:ProxyProtocol:TrustedBalancers:0"] = "127.0.0.1";
        await using var gateway = await TestGateway.StartAsync(_topology, settings);
        await using var haproxy = await HaproxyProcess.StartAsync(_topology.Folder, gateway.BaseAddress.Port, healthChecks: true);
        using var admin = gateway.CreateClient();
        await HealthTestKit.EventuallyAsync(async () => await Record.ExceptionAsync(() => ServedAsync(haproxy.V2Port)) is null,
            TimeSpan.FromSeconds(5), "HAProxy passing traffic");

        var before = haproxy.LineCount;
        await admin.SetStateAsync(_topology, "Owa", "Draining", reason: "balancer test");
        await HealthTestKit.EventuallyAsync(() => haproxy.SaidSince(before, "Server gateway_v2/gateway is DOWN, reason: Layer7 wrong status, code: 503"),
            TimeSpan.FromSeconds(5), "HAProxy marking the node down");
        var served = await Record.ExceptionAsync(() => ServedAsync(haproxy.V2Port));
        Assert.True(served is HttpRequestException, $"served while down ({served?.Message}); HAProxy said:\n{haproxy.Log}");

        before = haproxy.LineCount;
        await admin.SetStateAsync(_topology, "Owa", "Active", reason: "balancer test over");
        await HealthTestKit.EventuallyAsync(() => haproxy.SaidSince(before, "Server gateway_v2/gateway is UP, reason: Layer7 check passed"),
            TimeSpan.FromSeconds(5), "HAProxy marking the node up again");
        Assert.True(await ServedAsync(haproxy.V2Port));
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.9", "203.0.113.9")]
    [InlineData("127.0.0.0/8", "198.51.100.7, 203.0.113.9", "203.0.113.9")]
    [InlineData("10.0.0.0/8", "203.0.113.9", "127.0.0.1")]
    public async Task X_forwarded_for_counts_only_from_trusted_proxies(string trusted, string forwardedFor, string expected)
    {
        await using var gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:Listeners:TrustedProxies:0"] = trusted,
        });
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.Add("X-Forwarded-For", forwardedFor);

        var answer = await (await client.SendAsync(request)).ReadAnswerAsync();

        Assert.Equal(expected, answer.IdentityClientIp);
        Assert.Equal(expected, answer.ForwardedFor);
    }

    /// <summary>One request on a new connection through HAProxy, as a new client would make.</summary>
    private async Task<bool> ServedAsync(int port)
    {
        using var client = ClientFrom(ClientAddress, port);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await client.SendAsync(request);
        return (await response.ReadAnswerAsync()).IdentityClientIp == "127.0.0.2";
    }

    private static Dictionary<string, string?> LoggingTo(string log, string trustedBalancer) => new()
    {
        ["Gateway:Listeners:ProxyProtocol:TrustedBalancers:0"] = trustedBalancer,
        ["Serilog:MinimumLevel:Default"] = "Information",
        ["Serilog:WriteTo:0:Name"] = "File",
        ["Serilog:WriteTo:0:Args:path"] = log,
    };

    private static string ReadLog(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        return reader.ReadToEnd();
    }

    /// <summary>A client whose connections leave from <paramref name="source"/>, to HAProxy's port, trusting the gateway's certificate.</summary>
    private HttpClient ClientFrom(IPAddress source, int port)
    {
        var handler = HealthTestKit.TrustingHandler(_topology.GatewayCertificate);
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://localhost:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }
}
