using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using CasGateway.EndToEnd.Health;
using CasGateway.Listeners;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Scale;

/// <summary>
/// Issue 22: three gateway processes behind a real HAProxy (round robin, healthcheck.htm checks, send-proxy-v2),
/// sharing the key ring and the limit counters through a real Redis, in front of the demo mailbox servers. The nodes
/// are interchangeable: a cookie from one is read by the others, a user's budget is one budget, a drained node costs
/// no request, a killed one only the requests it had in flight, and a Redis outage costs nothing but sharing.
/// </summary>
[Collection(LoadSensitive.Name)]
public sealed class ThreeNodeTests(ThreeNodeFleet fleet, ITestOutputHelper output) : IClassFixture<ThreeNodeFleet>
{
    private const int Loops = 6;

    [Fact]
    public async Task A_backend_cookie_issued_by_one_node_skips_the_locator_on_the_other_two()
    {
        await fleet.EnsureAllUpAsync();
        using var client = fleet.BalancerClient();
        var before = await fleet.ScrapeSettledAsync(LocatorCalls);

        var (server, cookie) = await SendOwaAsync(client, null);
        Assert.Equal("mbx1.contoso.com", server);
        Assert.NotNull(cookie);
        var issued = await fleet.ScrapeUntilAsync(s => Enumerable.Range(0, ThreeNodeFleet.Nodes).Sum(i => LocatorCalls(s[i]) - LocatorCalls(before[i])) >= 1,
            "the first request's locator call counted");
        var issuer = Assert.Single(Enumerable.Range(0, ThreeNodeFleet.Nodes), i => LocatorCalls(issued[i]) == LocatorCalls(before[i]) + 1);

        // Round robin spreads these over every node; not one of them asks the locator.
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal("mbx1.contoso.com", (await SendOwaAsync(client, cookie)).Server);
        }
        var after = await fleet.ScrapeUntilAsync(s => Enumerable.Range(0, ThreeNodeFleet.Nodes).Sum(i => CookieHits(s[i]) - CookieHits(issued[i])) >= 12,
            "the cookie's twelve requests counted");
        for (var i = 0; i < ThreeNodeFleet.Nodes; i++)
        {
            Assert.Equal(LocatorCalls(issued[i]), LocatorCalls(after[i]));
            output.WriteLine($"{HaproxyFleet.ServerName(i)}{(i == issuer ? " (issued the cookie)" : "")}: " +
                $"{CookieHits(after[i]) - CookieHits(issued[i])} requests routed by the cookie, {LocatorCalls(after[i]) - LocatorCalls(issued[i])} locator calls");
            if (i != issuer)
            {
                Assert.True(CookieHits(after[i]) > CookieHits(issued[i]), $"{HaproxyFleet.ServerName(i)} routed no request by node {HaproxyFleet.ServerName(issuer)}'s cookie");
            }
        }
    }

    [Fact]
    public async Task A_user_over_the_budget_is_limited_on_every_node_not_three_times_the_budget()
    {
        await fleet.EnsureAllUpAsync();
        using var client = fleet.BalancerClient();
        var user = fleet.FreshUser();
        var before = await fleet.ScrapeSettledAsync(Throttled);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 15; i++)
        {
            statuses.Add(await SendAsync(client, "/EWS/Exchange.asmx", user));
        }

        Assert.Equal(ThreeNodeFleet.EwsBudget, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.All(statuses.Skip(ThreeNodeFleet.EwsBudget), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        var after = await fleet.ScrapeUntilAsync(s => Enumerable.Range(0, ThreeNodeFleet.Nodes).Sum(i => Throttled(s[i]) - Throttled(before[i])) >= 15 - ThreeNodeFleet.EwsBudget,
            "every refusal counted");
        var refused = Enumerable.Range(0, ThreeNodeFleet.Nodes).Select(i => Throttled(after[i]) - Throttled(before[i])).ToList();
        Assert.Equal(15 - ThreeNodeFleet.EwsBudget, refused.Sum());
        Assert.All(refused, r => Assert.True(r >= 1, $"a node refused nothing: {string.Join(", ", refused)}"));
        output.WriteLine($"budget {ThreeNodeFleet.EwsBudget} for three nodes: {statuses.Count(s => s == HttpStatusCode.OK)} of 15 served; refusals per node {string.Join(", ", refused)}");
    }

    [Fact]
    public async Task Sigterm_drains_one_node_through_the_balancer_and_no_request_fails()
    {
        await fleet.EnsureAllUpAsync();
        const int node = 1;
        var name = HaproxyFleet.ServerName(node);
        await using var load = Load.Start(fleet.BalancerClient(), Loops);
        await load.WaitForMoreAsync(30);
        var servedBefore = (await fleet.Balancer.ServersAsync())[name].Sessions;
        Assert.True(servedBefore > 0, $"{name} served nothing before SIGTERM");

        var clock = Stopwatch.StartNew();
        await fleet.Node(node).SignalAsync("TERM");
        var down = await HealthTestKit.EventuallyAsync(async () => (await fleet.Balancer.ServersAsync())[name].Status.StartsWith("DOWN", StringComparison.Ordinal),
            ThreeNodeFleet.Grace + TimeSpan.FromSeconds(5), $"HAProxy taking {name} out while it drains");
        var exitCode = await fleet.Node(node).WaitForExitAsync(ThreeNodeFleet.Grace + TimeSpan.FromSeconds(15));
        var exited = clock.Elapsed;
        await load.WaitForMoreAsync(30);
        var result = await load.StopAsync();

        Assert.Equal(0, exitCode);
        Assert.Contains("SIGTERM: draining", fleet.Node(node).Output, StringComparison.Ordinal);
        Assert.True(result.Failures.Count == 0, $"{result.Failures.Count} of {result.Sent} failed:\n{string.Join("\n", result.Failures.Take(20))}\n{fleet.Balancer.Log}");
        output.WriteLine($"SIGTERM {name} under {Loops} request loops: {result.Sent} requests, {result.Failures.Count} failed; " +
            $"HAProxy took it out after {down.TotalMilliseconds:0} ms, it exited (code {exitCode}) after {exited.TotalMilliseconds:0} ms " +
            $"(grace {ThreeNodeFleet.Grace.TotalMilliseconds:0} ms)");
    }

    [Fact]
    public async Task Sigkill_fails_only_the_requests_in_flight_on_that_node_and_haproxy_stops_sending_to_it_within_its_checks()
    {
        await fleet.EnsureAllUpAsync();
        const int node = 2;
        var name = HaproxyFleet.ServerName(node);
        await using var load = Load.Start(fleet.BalancerClient(), Loops);
        await load.WaitForMoreAsync(30);
        Assert.True((await fleet.Balancer.ServersAsync())[name].Sessions > 0, $"{name} served nothing before SIGKILL");

        var clock = Stopwatch.StartNew();
        await fleet.Node(node).SignalAsync("KILL");
        // In flight at the kill = started before the process was gone (observed within one poll of its exit).
        await HealthTestKit.EventuallyAsync(() => fleet.Node(node).HasExited, TimeSpan.FromSeconds(5), $"{name} gone after SIGKILL");
        var killedAt = load.Elapsed;
        var checks = fleet.Balancer.CheckInterval * fleet.Balancer.Fall;
        await HealthTestKit.EventuallyAsync(async () => (await fleet.Balancer.ServersAsync())[name].Status.StartsWith("DOWN", StringComparison.Ordinal),
            checks + TimeSpan.FromSeconds(10), $"HAProxy taking the killed {name} out");
        var down = clock.Elapsed;
        var atDown = (await fleet.Balancer.ServersAsync())[name];
        await load.WaitForMoreAsync(60);
        var result = await load.StopAsync();
        var atEnd = (await fleet.Balancer.ServersAsync())[name];

        var report = $"SIGKILL {name} under {Loops} request loops: {result.Sent} requests, {result.Failures.Count} failed " +
            $"(all in flight at the kill); HAProxy took it out {down.TotalMilliseconds:0} ms after the signal (checks every {fleet.Balancer.CheckInterval.TotalMilliseconds:0} ms, " +
            $"fall {fleet.Balancer.Fall}), redispatching {atDown.Redispatches} connections it could not make there";
        output.WriteLine(report);
        foreach (var failure in result.Failures)
        {
            output.WriteLine("  " + failure);
        }
        Assert.True(result.Failures.Count <= Loops, $"more failures than requests in flight:\n{string.Join("\n", result.Failures)}");
        Assert.All(result.Failures, f => Assert.True(f.Started <= killedAt, $"a request started after the kill failed: {f}"));
        // Its checks: `fall` failures `inter` apart, each allowed `inter` to connect; a second of slack for a loaded machine.
        Assert.True(down <= checks + fleet.Balancer.CheckInterval + TimeSpan.FromSeconds(1), $"{report}\n{fleet.Balancer.Log}");
        // Nothing was sent to the dead node after HAProxy took it out.
        Assert.Equal(atDown.Sessions, atEnd.Sessions);
        Assert.Equal(atDown.Redispatches, atEnd.Redispatches);
    }

    [Fact]
    public async Task Requests_keep_succeeding_while_redis_is_away_and_limits_are_shared_again_when_it_is_back()
    {
        await fleet.EnsureAllUpAsync();
        const string degraded = "fall back to this node", recovered = "shared through Redis again";
        var fallbacks = Enumerable.Range(0, ThreeNodeFleet.Nodes).Select(i => fleet.ThrottlingLines(i, degraded)).ToList();
        var recoveries = Enumerable.Range(0, ThreeNodeFleet.Nodes).Select(i => fleet.ThrottlingLines(i, recovered)).ToList();
        // The outage keeps what Redis held (as a persistent Redis or a network cut would), so later tests of this
        // class find the key ring the running nodes use.
        Assert.Equal("+OK", await fleet.Redis.CommandAsync("SAVE"));
        await using var load = Load.Start(fleet.BalancerClient(), Loops);
        await load.WaitForMoreAsync(30);

        await fleet.Redis.StopAsync();
        await HealthTestKit.EventuallyAsync(() => Enumerable.Range(0, ThreeNodeFleet.Nodes).All(i => fleet.ThrottlingLines(i, degraded) > fallbacks[i]),
            TimeSpan.FromSeconds(15), "every node logging its fallback to local counters");
        var sentWhileAway = load.Sent;
        await load.WaitForMoreAsync(60);
        var awayFailures = load.FailureCount;
        await fleet.Redis.RestartAsync();
        await HealthTestKit.EventuallyAsync(() => Enumerable.Range(0, ThreeNodeFleet.Nodes).All(i => fleet.ThrottlingLines(i, recovered) > recoveries[i]),
            TimeSpan.FromSeconds(15), "every node counting in Redis again");
        var result = await load.StopAsync();

        Assert.True(result.Failures.Count == 0, $"{result.Failures.Count} of {result.Sent} failed:\n{string.Join("\n", result.Failures.Take(20))}");
        Assert.Equal(0, awayFailures);
        using var client = fleet.BalancerClient();
        var user = fleet.FreshUser();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add(await SendAsync(client, "/EWS/Exchange.asmx", user));
        }
        Assert.Equal(ThreeNodeFleet.EwsBudget, statuses.Count(s => s == HttpStatusCode.OK));
        output.WriteLine($"Redis away: {result.Sent} requests ({result.Sent - sentWhileAway} after every node fell back), {result.Failures.Count} failed; " +
            $"back: one budget again ({statuses.Count(s => s == HttpStatusCode.OK)} of 12 served)");
    }

    private static double LocatorCalls(PrometheusText scrape) => scrape.Sum("casgateway_locator_cache_lookups_total");

    private static double CookieHits(PrometheusText scrape) => scrape.Sum("casgateway_backend_cookie_lookups_total", ("result", "hit"));

    private static double Throttled(PrometheusText scrape) => scrape.Sum("casgateway_refusals_total", ("code", "Throttled"));

    private async Task<(string Server, string? Cookie)> SendOwaAsync(HttpClient client, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(fleet.Topology.Directory.Mailbox("alice@contoso.com"));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        using var response = await client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();
        var set = response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal))
            : null;
        return (answer.Server, set ?? cookie);
    }

    private async Task<HttpStatusCode> SendAsync(HttpClient client, string path, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(fleet.Topology.Directory.Mailbox(user));
        using var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response.StatusCode;
    }

    /// <summary>
    /// Request loops through the balancer, each request on a new connection (so HAProxy, balancing connections,
    /// spreads requests): every failure is kept with the time its request started. Bounded: it stops by itself
    /// after a minute.
    /// </summary>
    private sealed class Load : IAsyncDisposable
    {
        private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);
        private readonly HttpClient _client;
        private readonly CancellationTokenSource _stop = new(Limit);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<LoadFailure> _failures = new();
        private readonly Task[] _loops;
        private int _sent;

        private Load(HttpClient client, int loops)
        {
            _client = client;
            _loops = [.. Enumerable.Range(0, loops).Select(_ => Task.Run(LoopAsync))];
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        public int Sent => Volatile.Read(ref _sent);

        public int FailureCount => _failures.Count;

        public static Load Start(HttpClient client, int loops) => new(client, loops);

        /// <summary>Waits until <paramref name="count"/> more requests were sent.</summary>
        public Task WaitForMoreAsync(int count)
        {
            var target = Sent + count;
            return HealthTestKit.EventuallyAsync(() => Sent >= target || _stop.IsCancellationRequested, TimeSpan.FromSeconds(30), $"{count} more requests");
        }

        public async Task<(int Sent, IReadOnlyCollection<LoadFailure> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops);
            return (Sent, _failures);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
            _client.Dispose();
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var started = _clock.Elapsed;
                Interlocked.Increment(ref _sent);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
                    request.Headers.Authorization = TestGateway.Basic(ThreeNodeFleet.LoadUser, TestDirectory.PasswordOf(ThreeNodeFleet.LoadUser));
                    using var response = await _client.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        _failures.Enqueue(new LoadFailure(started, _clock.Elapsed, $"answered {(int)response.StatusCode}: {body[..Math.Min(body.Length, 200)]}"));
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                {
                    _failures.Enqueue(new LoadFailure(started, _clock.Elapsed, $"{ex.GetType().Name}: {ex.Message}"));
                }
            }
        }
    }

    private sealed record LoadFailure(TimeSpan Started, TimeSpan Ended, string What)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"started {Started.TotalSeconds:0.000} s, failed {Ended.TotalSeconds:0.000} s: {What}");
    }
}

/// <summary>
/// The fleet of <see cref="ThreeNodeTests"/>, started once for the class: the demo mailbox servers, Redis, three
/// gateway processes on fixed loopback ports (so a stopped node comes back where HAProxy expects it), and HAProxy.
/// </summary>
public sealed class ThreeNodeFleet : IAsyncLifetime
{
    public const int Nodes = 3;
    public const int EwsBudget = 9;
    /// <summary>Longer than HAProxy needs to take a draining node out (two checks a second apart).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);
    private readonly GatewayProcess?[] _nodes = new GatewayProcess?[Nodes];
    private readonly int[] _ports = new int[Nodes];
    private string _keyRingCertificate = null!;
    private int _users;

    public TestTopology Topology { get; private set; } = null!;

    public RedisServer Redis { get; private set; } = null!;

    public HaproxyFleet Balancer { get; private set; } = null!;

    /// <summary>The user of the background load (OWA, whose budget is counted in Redis but never reached).</summary>
    public const string LoadUser = "alice@contoso.com";

    public GatewayProcess Node(int index) => _nodes[index] ?? throw new InvalidOperationException($"node {index} is not running");

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        for (var i = 0; i < 8; i++)
        {
            Topology.Directory.AddMailbox($"user{i}@contoso.com", "DB01");
        }
        Topology.Directory.Save();
        Redis = await RedisServer.StartAsync();
        _keyRingCertificate = Path.Combine(Topology.Folder, "keyring.pfx");
        File.WriteAllBytes(_keyRingCertificate, CertificateFiles.CreateSelfSigned("casgateway-keyring", ["keyring"]).Export(X509ContentType.Pkcs12));
        var ports = new HashSet<int>();
        while (ports.Count < Nodes)
        {
            ports.Add(HealthTestKit.FreePort());
        }
        ports.CopyTo(_ports);
        await EnsureRunningAsync();
        Balancer = await HaproxyFleet.StartAsync(Topology.Folder, _ports);
        await Balancer.WaitAllUpAsync(TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync([Balancer, .. _nodes, Redis, Topology]);
    }

    /// <summary>Starts again any node an earlier test stopped, and waits until HAProxy has all three in rotation.</summary>
    public async Task EnsureAllUpAsync()
    {
        await EnsureRunningAsync();
        await Balancer.WaitAllUpAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A user no earlier test has spent budget for.</summary>
    public string FreshUser() => $"user{Interlocked.Increment(ref _users) - 1}@contoso.com";

    /// <summary>A client of the balancer: a new connection per request, as HAProxy balances connections.</summary>
    public HttpClient BalancerClient()
    {
        var client = new HttpClient(HealthTestKit.TrustingHandler(Topology.GatewayCertificate))
        {
            BaseAddress = new Uri($"https://127.0.0.1:{Balancer.Port}"),
            Timeout = TimeSpan.FromSeconds(15),
        };
        client.DefaultRequestHeaders.ConnectionClose = true;
        return client;
    }

    /// <summary>Each node's <c>/metrics</c>, scraped directly (not through the balancer).</summary>
    public async Task<PrometheusText[]> ScrapeAsync() => await Task.WhenAll(Enumerable.Range(0, Nodes).Select(async i =>
    {
        using var client = new HttpClient(HealthTestKit.TrustingHandler(Topology.GatewayCertificate)) { BaseAddress = Node(i).BaseAddress };
        return PrometheusText.Parse(await client.GetStringAsync("/metrics"));
    }));

    /// <summary>
    /// Scrapes every node until <paramref name="done"/> holds: a request is counted after its response, and the
    /// exporter answers scrapes from a short-lived cache.
    /// </summary>
    public async Task<PrometheusText[]> ScrapeUntilAsync(Func<PrometheusText[], bool> done, string what)
    {
        var scrape = await ScrapeAsync();
        await HealthTestKit.EventuallyAsync(async () => done(scrape = await ScrapeAsync()), TimeSpan.FromSeconds(10), what);
        return scrape;
    }

    /// <summary>
    /// Scrapes every node until <paramref name="metric"/> has stood still on each for longer than the exporter caches
    /// a scrape: a baseline that no earlier request will still change.
    /// </summary>
    public async Task<PrometheusText[]> ScrapeSettledAsync(Func<PrometheusText, double> metric)
    {
        var settle = TimeSpan.FromSeconds(0.5);
        var clock = Stopwatch.StartNew();
        var (since, values) = (clock.Elapsed, (await ScrapeAsync()).Select(metric).ToArray());
        while (true)
        {
            var scrape = await ScrapeAsync();
            var now = scrape.Select(metric).ToArray();
            if (!now.SequenceEqual(values))
            {
                (since, values) = (clock.Elapsed, now);
            }
            else if (clock.Elapsed - since > settle)
            {
                return scrape;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new Xunit.Sdk.XunitException("The nodes' metrics did not settle within 10 s.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>How many lines node <paramref name="index"/> has logged about its throttling counters containing <paramref name="text"/>.</summary>
    public int ThrottlingLines(int index, string text)
        => Node(index).Output.Split('\n').Count(l => l.Contains("Throttling counters", StringComparison.Ordinal) && l.Contains(text, StringComparison.Ordinal));

    private async Task EnsureRunningAsync() => await Task.WhenAll(Enumerable.Range(0, Nodes).Select(async i =>
    {
        if (_nodes[i] is { HasExited: false })
        {
            return;
        }
        if (_nodes[i] is { } stopped)
        {
            await stopped.DisposeAsync();
        }
        _nodes[i] = null;
        _nodes[i] = await GatewayProcess.StartAsync(Settings(i));
    }));

    /// <summary>What makes the nodes interchangeable (README "Run three nodes"), plus loopback ports and test timings.</summary>
    private Dictionary<string, string?> Settings(int index)
    {
        var name = HaproxyFleet.ServerName(index);
        var settings = Topology.GatewaySettings();
        foreach (var (key, value) in HealthTestKit.Settings(name + ".contoso.com", Path.Combine(Topology.Folder, name + "-states.json"), Grace))
        {
            settings[key] = value;
        }
        settings["Gateway:Health:ShutdownTimeout"] = "00:00:10";
        // The mailbox servers (in the test process) get time to answer checks and connects on a loaded machine.
        settings["Gateway:Health:RefreshInterval"] = "00:00:01";
        settings["Gateway:Health:ProbeTimeout"] = "00:00:02";
        settings["Gateway:Backend:ConnectTimeout"] = "00:00:10";
        settings["Gateway:Listeners:HttpsPort"] = _ports[index].ToString(CultureInfo.InvariantCulture);
        settings["Gateway:Listeners:ProxyProtocol:TrustedBalancers:0"] = "127.0.0.1";
        settings["Gateway:DataPath"] = Path.Combine(Topology.Folder, name);
        settings["Serilog:WriteTo:File:Args:configure:0:Args:path"] = Path.Combine(Topology.Folder, name + "-logs", "casgateway-.json");
        settings["Serilog:MinimumLevel:Override:CasGateway.Throttling"] = "Information";
        settings["Gateway:Redis:Configuration"] = Redis.Configuration;
        settings["Gateway:KeyRing:Kind"] = "Redis";
        settings["Gateway:KeyRing:Certificate:Path"] = _keyRingCertificate;
        // Every request without a cookie asks the locator: the cookie test counts those calls.
        settings["Gateway:Locator:Cache:TimeToLive"] = "00:00:00";
        settings["Gateway:Throttling:Families:Ews:RequestsPerWindow"] = EwsBudget.ToString(CultureInfo.InvariantCulture);
        settings["Gateway:Throttling:Families:Ews:Window"] = "00:10:00";
        settings["Gateway:Throttling:Families:Owa:RequestsPerWindow"] = "1000000";
        return settings;
    }
}
