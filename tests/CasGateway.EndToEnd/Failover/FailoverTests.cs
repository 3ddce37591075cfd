using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Failover;

/// <summary>Issue 7: an active-copy switchover and a dead server cost clients nothing; a locator outage is ridden out.</summary>
[Collection(MemorySensitive.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Switchover_under_load_from_50_clients_shows_no_errors()
    {
        await using var topology = await TestTopology.StartAsync();
        var users = Enumerable.Range(1, 20).Select(i => topology.Directory.AddMailbox($"user{i:00}@contoso.com", i % 2 == 0 ? "DB02" : "DB01")).ToList();
        topology.Directory.Save();
        await using var gateway = await TestGateway.StartAsync(topology);
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(30));
        using var retries = new RetryCounter();

        var outcomes = new ConcurrentDictionary<string, int>();
        var largeOutcomes = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var body = new byte[2048];
        var large = new byte[256 * 1024];
        var clients = Enumerable.Range(0, 50).Select(n => Task.Run(async () =>
        {
            var user = users[n % users.Count];
            string? cookie = null;
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var bigPost = n % 10 == 0 && i % 5 == 4;
                using var request = i % 2 == 0 && !bigPost
                    ? new HttpRequestMessage(HttpMethod.Get, "/owa/")
                    : new HttpRequestMessage(HttpMethod.Post, "/EWS/Exchange.asmx") { Content = new ByteArrayContent(bigPost ? large : body) };
                request.Headers.Authorization = TestGateway.Basic(user);
                if (cookie is not null)
                {
                    request.Headers.Add("Cookie", cookie);
                }
                string outcome;
                try
                {
                    using var response = await client.SendAsync(request);
                    outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (response.Headers.TryGetValues("Set-Cookie", out var set))
                    {
                        cookie = set.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal)) ?? cookie;
                    }
                    await response.Content.ReadAsByteArrayAsync();
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    outcome = ex.GetType().Name;
                }
                (bigPost ? largeOutcomes : outcomes).AddOrUpdate(outcome, 1, (_, c) => c + 1);
            }
        })).ToList();

        // Switch over once the load runs, large POSTs included (bounded: a machine too slow to get there fails the test).
        await Health.HealthTestKit.EventuallyAsync(() => outcomes.GetValueOrDefault("200") >= 200 && largeOutcomes.GetValueOrDefault("200") >= 2,
            TimeSpan.FromSeconds(30), "the load (with two streamed large POSTs) ran before the switchover");
        var before = outcomes.Values.Sum();
        topology.Directory.Activate("DB01", "mbx2.contoso.com");
        topology.Directory.Save();
        await topology.StopServerAsync("mbx1.contoso.com");
        // Keep the load on until the switchover has been retried through and plenty of requests ran after it.
        await Health.HealthTestKit.EventuallyAsync(() => retries.Count > 0 && outcomes.Values.Sum() >= before + 300,
            TimeSpan.FromSeconds(30), "the switchover was retried through and 300 requests ran after it");
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        var total = outcomes.Values.Sum();
        output.WriteLine($"GET/small POST requests: {total} ({before} before the switchover), retries: {retries.Count}, outcomes: {Describe(outcomes)}");
        output.WriteLine($"streamed 256 KB POSTs: {largeOutcomes.Values.Sum()}, outcomes: {Describe(largeOutcomes)}");
        Assert.True(total > 500, $"only {total} requests ran");
        Assert.Equal(total, outcomes.GetValueOrDefault("200"));
        Assert.True(largeOutcomes.GetValueOrDefault("200") >= 2, "no streamed large POST went through: the test did not exercise them");
        Assert.All(largeOutcomes.Keys, k => Assert.Contains(k, new[] { "200", "502", "503" }));
        Assert.True(retries.Count > 0, "the switchover caused no retry: the test did not exercise failover");
    }

    [Fact]
    public async Task Streamed_large_post_to_a_dead_server_reports_502_or_503()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology);
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(30));
        await topology.StopServerAsync("mbx2.contoso.com");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/EWS/Exchange.asmx") { Content = new ByteArrayContent(new byte[1024 * 1024]) };
        request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox("bob@contoso.com"));
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"got {(int)response.StatusCode}");
    }

    [Fact]
    public async Task Locator_outage_serves_known_mailboxes_for_the_stale_period_and_refuses_cold_ones()
    {
        await using var topology = await TestTopology.StartAsync();
        Func<CountingLocator> locator = null!;
        await using var gateway = await TestGateway.StartAsync(
            topology,
            new Dictionary<string, string?>
            {
                ["Gateway:Locator:Cache:TimeToLive"] = "00:00:00.200",
                ["Gateway:Locator:Resilience:StalePeriod"] = "00:00:03",
                ["Gateway:Locator:Resilience:RetryBaseDelay"] = "00:00:00.010",
            },
            services => locator = CountingLocator.Install(services));
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, topology, "alice@contoso.com"));

        locator().Unavailable = true;
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, topology, "alice@contoso.com"));

        using var cold = Request(topology, "bob@contoso.com");
        using var refused = await client.SendAsync(cold);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(client, topology, "alice@contoso.com"));

        locator().Unavailable = false;
        var recovered = await RequestPath.RequestPathTests.PollAsync(
            () => StatusAsync(client, topology, "bob@contoso.com"), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, recovered);
    }

    [Fact]
    public async Task A_black_holed_server_stops_costing_connect_timeouts_once_its_breaker_opens()
    {
        await using var topology = await TestTopology.StartAsync();
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = 0;
        var held = new ConcurrentBag<TcpClient>();
        using var stop = new CancellationTokenSource();
        var acceptor = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    held.Add(await blackHole.AcceptTcpClientAsync(stop.Token));
                    Interlocked.Increment(ref accepted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        var port = ((IPEndPoint)blackHole.LocalEndpoint).Port;
        topology.Directory.Servers.Add(("mbx3.contoso.com", "Site1", "15.2.1544.4", new Uri($"https://127.0.0.1:{port}/")));
        topology.Directory.Databases.Add(("DB03", Guid.NewGuid(), ["mbx3.contoso.com"], "mbx3.contoso.com"));
        var dave = topology.Directory.AddMailbox("dave@contoso.com", "DB03");
        topology.Directory.Save();
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Backend:ConnectTimeout"] = "00:00:00.500",
            ["Gateway:Backend:Retry:ConnectFailureDelay"] = "00:00:00",
            ["Gateway:Backend:Health:ActiveEnabled"] = "false",
        });
        using var client = gateway.CreateClient();

        const int requests = 12;
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
            request.Headers.Authorization = TestGateway.Basic(dave);
            using var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }
        await stop.CancelAsync();
        await acceptor;
        foreach (var connection in held)
        {
            connection.Dispose();
        }

        output.WriteLine($"{requests} requests ({requests * 3} possible attempts) reached the black hole {accepted} times: {string.Join(", ", statuses.Select(s => (int)s))}");
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"got {(int)s}"));
        Assert.True(accepted < requests, $"{accepted} connection attempts for {requests} requests: the breaker never opened");
    }

    private static HttpRequestMessage Request(TestTopology topology, string user)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox(user));
        return request;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, TestTopology topology, string user)
    {
        using var request = Request(topology, user);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static string Describe(ConcurrentDictionary<string, int> outcomes)
        => string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}×{o.Value}"));

    /// <summary>Counts the gateway's <c>casgateway.retries</c> instrument.</summary>
    private sealed class RetryCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public RetryCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "casgateway.retries")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
