using System.Diagnostics;
using System.Net;
using CasGateway.Health;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// Issue 6: two gateway nodes behind a round-robin client that, like a balancer, stops sending to a node whose
/// probe answers 503. Draining a node — by the admin endpoint or by SIGTERM — must cost no request.
/// </summary>
[Collection(LoadSensitive.Name)]
public sealed class DrainUnderLoadTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Loops = 8;
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);
    private TestTopology _topology = null!;

    public async Task InitializeAsync() => _topology = await TestTopology.StartAsync();

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_topology);

    [Fact]
    public async Task Draining_a_node_under_load_fails_no_request_empties_its_connections_and_traffic_returns()
    {
        await using var nodeA = await TestGateway.StartAsync(_topology, NodeSettings("cas-a"));
        await using var nodeB = await TestGateway.StartAsync(_topology, NodeSettings("cas-b"));
        using var a = Node("cas-a", nodeA.BaseAddress);
        using var b = Node("cas-b", nodeB.BaseAddress);
        using var control = ClosingClient(nodeA.BaseAddress);
        var connectionsA = nodeA.GetRequiredService<ClientConnectionRegistry>();
        await using var balancer = new RoundRobinBalancer([a, b], "/ews/healthcheck.htm", ProbeInterval);
        await HealthTestKit.EventuallyAsync(() => a.Up && b.Up, TimeSpan.FromSeconds(5), "both nodes up");

        var load = balancer.RunAsync(Loops, TimeSpan.FromSeconds(6), SendAsync);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.True(a.Served > 0, "node A served nothing before the drain");

        var clock = Stopwatch.StartNew();
        await control.SetStateAsync(_topology, "ServerWideOffline", "Draining", reason: "rolling upgrade");
        var probeDown = await HealthTestKit.EventuallyAsync(
            async () => (await control.ProbeAsync()).Status == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(1), "A's probe 503");
        await HealthTestKit.EventuallyAsync(() => !a.Up, TimeSpan.FromSeconds(1), "the balancer taking A out");
        var balancerNoticed = clock.Elapsed;
        await HealthTestKit.EventuallyAsync(() => connectionsA.OpenConnections == 0, Grace + TimeSpan.FromSeconds(3), "A without open client connections");
        var emptied = clock.Elapsed;
        var servedByAWhileDrained = a.Served;

        await control.SetStateAsync(_topology, "ServerWideOffline", "Active", reason: "upgrade done");
        await HealthTestKit.EventuallyAsync(() => a.Up, TimeSpan.FromSeconds(2), "the balancer putting A back");
        var sent = await load;

        Assert.True(balancer.Failures.IsEmpty, $"{balancer.Failures.Count} failed:\n{string.Join("\n", balancer.Failures.Take(20))}\nprobes:\n{string.Join("\n", balancer.ProbeLog)}");
        Assert.True(a.Served > servedByAWhileDrained, "no traffic returned to A");
        Assert.True(b.Served > 0);
        output.WriteLine($"{sent} requests, {balancer.Failures.Count} failed; A served {a.Served} ({a.Served - servedByAWhileDrained} after its return), B {b.Served}");
        output.WriteLine($"drain: A's probe 503 after {probeDown.TotalMilliseconds:0} ms, balancer out after {balancerNoticed.TotalMilliseconds:0} ms, " +
            $"A's client connections 0 after {emptied.TotalMilliseconds:0} ms (grace {Grace.TotalMilliseconds:0} ms)");
    }

    [Fact]
    public async Task Sigterm_drains_a_node_process_under_load_and_it_exits_with_no_request_failed()
    {
        var settings = NodeSettings("cas-a");
        settings["Gateway:Health:ShutdownTimeout"] = "00:00:10";
        await using var process = await GatewayProcess.StartAsync(settings);
        await using var nodeB = await TestGateway.StartAsync(_topology, NodeSettings("cas-b"));
        using var a = Node("cas-a", process.BaseAddress);
        using var b = Node("cas-b", nodeB.BaseAddress);
        using var control = ClosingClient(process.BaseAddress);
        await using var balancer = new RoundRobinBalancer([a, b], "/ews/healthcheck.htm", ProbeInterval);
        await HealthTestKit.EventuallyAsync(() => a.Up && b.Up, TimeSpan.FromSeconds(5), "both nodes up");

        var load = balancer.RunAsync(Loops, TimeSpan.FromSeconds(6), SendAsync);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.True(a.Served > 0, "node A served nothing before SIGTERM");

        var clock = Stopwatch.StartNew();
        await process.SignalAsync("TERM");
        var probeDown = await HealthTestKit.EventuallyAsync(
            async () => (await control.ProbeAsync()).Status == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(1), "A's probe 503 after SIGTERM");
        var exitCode = await process.WaitForExitAsync(Grace + TimeSpan.FromSeconds(10));
        var exited = clock.Elapsed;
        var sent = await load;

        Assert.Equal(0, exitCode);
        Assert.True(balancer.Failures.IsEmpty, $"{balancer.Failures.Count} failed:\n{string.Join("\n", balancer.Failures.Take(20))}\nprobes:\n{string.Join("\n", balancer.ProbeLog)}");
        Assert.True(exited >= Grace, $"exited {exited.TotalMilliseconds:0} ms after SIGTERM, inside the grace period");
        Assert.Contains("SIGTERM: draining", process.Output, StringComparison.Ordinal);
        Assert.True(b.Served > 0);
        output.WriteLine($"{sent} requests, {balancer.Failures.Count} failed; A served {a.Served}, B {b.Served}");
        output.WriteLine($"SIGTERM: A's probe 503 after {probeDown.TotalMilliseconds:0} ms, process exited (code {exitCode}) after {exited.TotalMilliseconds:0} ms (grace {Grace.TotalMilliseconds:0} ms)");
    }

    [Fact]
    public async Task A_second_sigterm_exits_at_once()
    {
        var settings = NodeSettings("cas-a");
        settings["Gateway:Health:DrainGracePeriod"] = "00:00:30";
        await using var process = await GatewayProcess.StartAsync(settings);
        using var control = ClosingClient(process.BaseAddress);

        await process.SignalAsync("TERM");
        await HealthTestKit.EventuallyAsync(
            async () => (await control.ProbeAsync()).Status == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(2), "probe 503 after SIGTERM");
        Assert.False(process.HasExited);
        var clock = Stopwatch.StartNew();
        await process.SignalAsync("TERM");
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(143, exitCode);
        Assert.Contains("Second SIGTERM", process.Output, StringComparison.Ordinal);
        output.WriteLine($"second SIGTERM: exited (code {exitCode}) after {clock.ElapsedMilliseconds} ms of a 30 s grace period");
    }

    private Dictionary<string, string?> NodeSettings(string node)
    {
        var settings = _topology.GatewaySettings();
        foreach (var (key, value) in HealthTestKit.Settings(node, Path.Combine(_topology.Folder, node + "-states.json"), Grace))
        {
            settings[key] = value;
        }
        return settings;
    }

    private BalancedNode Node(string name, Uri address)
        => new(name,
            new HttpClient(HealthTestKit.TrustingHandler(_topology.GatewayCertificate)) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) },
            ClosingClient(address));

    /// <summary>A client whose every request closes its connection, as balancer health checks do.</summary>
    private HttpClient ClosingClient(Uri address)
    {
        var client = new HttpClient(HealthTestKit.TrustingHandler(_topology.GatewayCertificate)) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        client.DefaultRequestHeaders.ConnectionClose = true;
        return client;
    }

    private async Task<HttpStatusCode> SendAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode;
    }
}
