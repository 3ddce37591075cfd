using System.Diagnostics;
using System.Net;
using CasGateway.Health;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Health;

/// <summary>Issue 6: drain ends long-lived requests at the end of the grace period, and drained nodes close connections.</summary>
[Collection(LoadSensitive.Name)]
public sealed class LongLivedRequestTests : IAsyncLifetime
{
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(800);
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, HealthTestKit.Settings(grace: Grace));
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    public static TheoryData<string, string, string, string?> HeldRequests => new()
    {
        { "ActiveSync", "POST", "/Microsoft-Server-ActiveSync?Cmd=Ping&User=alice&DeviceId=DEV1&DeviceType=Phone", null },
        // Base64 query form: protocol version 14.1, command code 18 (Ping), locale, device id, policy key, device type.
        { "ActiveSync", "POST", "/Microsoft-Server-ActiveSync/default.eas?" + Uri.EscapeDataString(Convert.ToBase64String([141, 18, 0x09, 0x04, 4, 1, 2, 3, 4, 0, 5, 80, 104, 111, 110, 101])), null },
        { "Mapi", "POST", "/mapi/emsmdb/?MailboxId={alice}@contoso.com", "NotificationWait" },
        { "Rpc", "RPC_OUT_DATA", "/rpc/rpcproxy.dll?{alice}@contoso.com:6001", null },
        { "Rpc", "RPC_IN_DATA", "/rpc/rpcproxy.dll?{alice}@contoso.com:6001", null },
    };

    [Theory]
    [MemberData(nameof(HeldRequests))]
    public async Task A_held_long_lived_request_is_ended_with_503_when_the_grace_period_ends(string component, string method, string path, string? requestType)
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        var registry = _gateway.GetRequiredService<LongLivedRequestRegistry>();
        var backendBefore = _topology.Backend("mbx1.contoso.com").Requests;
        await using var connection = await RawHttpConnection.OpenAsync(_gateway.BaseAddress, _topology.GatewayCertificate);
        var headers = new List<(string, string)> { ("Authorization", TestGateway.Basic(alice).ToString()) };
        if (requestType is not null)
        {
            headers.Add(("X-RequestType", requestType));
        }
        await connection.SendHeldRequestAsync(method, path.Replace("{alice}", alice.Guid.ToString(), StringComparison.Ordinal), headers);
        await HealthTestKit.EventuallyAsync(() => registry.Count == 1 && _topology.Backend("mbx1.contoso.com").Requests > backendBefore,
            TimeSpan.FromSeconds(10), "the long-lived request reaching the backend");

        var clock = Stopwatch.StartNew();
        await _client.SetStateAsync(_topology, component, "Draining", reason: "move clients away");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var (status, responseHeaders) = await connection.ReadResponseHeadAsync(bound.Token);
        clock.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("close", responseHeaders.GetValueOrDefault("connection"));
        Assert.True(responseHeaders.ContainsKey("retry-after"));
        Assert.True(clock.Elapsed >= Grace * 0.9, $"ended after {clock.ElapsedMilliseconds} ms, before the {Grace.TotalMilliseconds} ms grace period");
        // The request leaves the registry as its handler unwinds, a moment after the 503's head went out.
        await HealthTestKit.EventuallyAsync(() => registry.Count == 0, TimeSpan.FromSeconds(5), "the ended request leaving the registry");
    }

    [Fact]
    public async Task Over_http2_a_held_ping_is_ended_with_503_when_the_grace_period_ends()
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        var registry = _gateway.GetRequiredService<LongLivedRequestRegistry>();
        using var client = _gateway.CreateClient(http2: true);
        using var body = new HeldOpenContent();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/Microsoft-Server-ActiveSync?Cmd=Ping&User=alice&DeviceId=DEV1&DeviceType=Phone")
        {
            Content = body,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Authorization = TestGateway.Basic(alice);
        var sending = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await HealthTestKit.EventuallyAsync(() => registry.Count == 1, TimeSpan.FromSeconds(10), "the ping registered");

        var clock = Stopwatch.StartNew();
        await _client.SetStateAsync(_topology, "ActiveSync", "Draining");
        using var response = await sending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.True(clock.Elapsed >= Grace * 0.9, $"ended after {clock.ElapsedMilliseconds} ms, before the grace period");
    }

    [Fact]
    public async Task A_long_lived_response_already_streaming_is_cut_when_the_grace_period_ends()
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/Microsoft-Server-ActiveSync?Cmd=Ping&download=100000000000");
        request.Headers.Authorization = TestGateway.Basic(alice);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        Assert.True(await stream.ReadAsync(buffer) > 0);

        await _client.SetStateAsync(_topology, "ActiveSync", "Draining");

        // The client reads on: the stream must break off (not end as if complete) once the grace period is over.
        var read = 0L;
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            int n;
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while ((n = await stream.ReadAsync(buffer, bound.Token)) > 0)
            {
                read += n;
            }
        });
        Assert.True(read < 100_000_000_000);
    }

    [Fact]
    public async Task After_the_grace_period_ordinary_requests_are_served_with_connection_close_and_new_long_lived_ones_refused()
    {
        var drain = _gateway.GetRequiredService<DrainCoordinator>();
        await _client.SetStateAsync(_topology, "ActiveSync", "Draining");
        using (var during = await SyncAsync("Sync"))
        {
            Assert.Equal(HttpStatusCode.OK, during.StatusCode);
            Assert.False(during.Headers.ConnectionClose == true);
        }
        await HealthTestKit.EventuallyAsync(() => drain.PhaseOf(ServerComponent.ActiveSync) == DrainPhase.Drained, Grace * 5, "grace period over");

        using (var after = await SyncAsync("Sync"))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
            Assert.True(after.Headers.ConnectionClose);
        }
        using (var ping = await SyncAsync("Ping"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ping.StatusCode);
            Assert.True(ping.Headers.ConnectionClose);
        }
        using var other = await _client.GetAsync("/ews/healthcheck.htm");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.False(other.Headers.ConnectionClose == true);
    }

    [Fact]
    public async Task A_drained_node_asks_idle_keep_alive_connections_to_close()
    {
        var connections = _gateway.GetRequiredService<ClientConnectionRegistry>();
        using var idle = _gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await idle.ProbeAsync("/owa/healthcheck.htm")).Status);
        using (var admin = new HttpClient(HealthTestKit.TrustingHandler(_topology.GatewayCertificate)) { BaseAddress = _gateway.BaseAddress })
        {
            admin.DefaultRequestHeaders.ConnectionClose = true;
            await admin.SetStateAsync(_topology, "ServerWideOffline", "Draining");
        }
        await HealthTestKit.EventuallyAsync(() => connections.OpenConnections == 1, TimeSpan.FromSeconds(2), "only the idle client's connection left");

        var emptied = await HealthTestKit.EventuallyAsync(() => connections.OpenConnections == 0, Grace * 5, "the idle connection closed by the node");

        Assert.True(emptied >= Grace * 0.5, $"closed after {emptied.TotalMilliseconds} ms, well before the grace period");
    }

    [Fact]
    public async Task After_the_grace_period_an_http2_connection_is_served_then_sent_away()
    {
        var drain = _gateway.GetRequiredService<DrainCoordinator>();
        var connections = _gateway.GetRequiredService<ClientConnectionRegistry>();
        using (var admin = new HttpClient(HealthTestKit.TrustingHandler(_topology.GatewayCertificate)) { BaseAddress = _gateway.BaseAddress })
        {
            admin.DefaultRequestHeaders.ConnectionClose = true;
            await admin.SetStateAsync(_topology, "ServerWideOffline", "Draining");
        }
        await HealthTestKit.EventuallyAsync(() => drain.PhaseOf(ServerComponent.ServerWideOffline) == DrainPhase.Drained, Grace * 5, "grace period over");
        await HealthTestKit.EventuallyAsync(() => connections.OpenConnections == 0, TimeSpan.FromSeconds(5), "no connection left");

        using var client = _gateway.CreateClient(http2: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("mbx1.contoso.com", (await response.ReadAnswerAsync()).Server);

        // The client keeps its connection pooled; the node's GOAWAY is what closes it.
        await HealthTestKit.EventuallyAsync(() => connections.OpenConnections == 0, TimeSpan.FromSeconds(5), "the HTTP/2 connection closed by the node");
    }

    private async Task<HttpResponseMessage> SyncAsync(string command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/Microsoft-Server-ActiveSync?Cmd={command}&User=alice&DeviceId=DEV1&DeviceType=Phone")
        {
            Content = new ByteArrayContent([1, 2, 3]),
        };
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        return await _client.SendAsync(request);
    }

    /// <summary>A request body that sends a few bytes, then stays open until the request is over, as a held Ping's may.</summary>
    private sealed class HeldOpenContent : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(new byte[] { 1, 2, 3, 4 }, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
