using System.Net;
using CasGateway.EndToEnd.Health;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace CasGateway.EndToEnd.Scale;

/// <summary>
/// Issue 22: per-user, per-family throttling on ASP.NET Core rate limiting — a window budget shared by every node
/// through Redis (local while Redis is away), concurrency and long-lived caps per node, 429 (ActiveSync: 503) with
/// Retry-After, probes never throttled, each refusal logged and counted.
/// </summary>
public sealed class ThrottlingTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private RedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _redis = await RedisServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _topology.DisposeAsync();
    }

    private Task<TestGateway> StartNodeAsync(Dictionary<string, string?> throttling, CapturingLogSink? log = null)
    {
        var settings = new Dictionary<string, string?>(throttling)
        {
            ["Gateway:DataPath"] = Path.Combine(_topology.Folder, "node-" + Guid.NewGuid().ToString("N")[..8]),
            ["Serilog:MinimumLevel:Default"] = "Information",
        };
        return TestGateway.StartAsync(_topology, settings, services =>
        {
            if (log is not null)
            {
                services.AddSingleton<ILogEventSink>(log);
            }
        });
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string user = "alice@contoso.com", HttpCompletionOption read = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        return await client.SendAsync(request, read);
    }

    [Fact]
    public async Task A_user_over_the_window_budget_gets_429_with_retry_after_and_other_users_and_probes_are_not_limited()
    {
        var log = new CapturingLogSink();
        await using var gateway = await StartNodeAsync(new()
        {
            ["Gateway:Throttling:Families:Owa:RequestsPerWindow"] = "5",
            ["Gateway:Throttling:Families:Owa:Window"] = "00:10:00",
        }, log);
        using var client = gateway.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            using var ok = await SendAsync(client, "/owa/");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var refused = await SendAsync(client, "/owa/"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value.TotalSeconds, 1, 600);
        }
        // Another family of the same user, and another user, have budgets of their own; probes are never throttled.
        using (var ews = await SendAsync(client, "/EWS/Exchange.asmx"))
        {
            Assert.Equal(HttpStatusCode.OK, ews.StatusCode);
        }
        using (var bob = await SendAsync(client, "/owa/", "bob@contoso.com"))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        }
        for (var i = 0; i < 20; i++)
        {
            using var probe = await client.GetAsync("/owa/healthcheck.htm");
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        }

        var logged = await log.WaitForProtocolEventAsync(e => CapturingLogSink.Value(e, "HttpStatus") is 429);
        Assert.Equal("alice@contoso.com", CapturingLogSink.Value(logged, "AuthenticatedUser"));
        var metrics = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
        Assert.Equal(1, metrics.Sum("casgateway_refusals_total", ("status", "429"), ("code", "Throttled")));
    }

    [Fact]
    public async Task Concurrent_and_long_lived_caps_hold_per_user_and_free_their_slot_when_a_request_ends()
    {
        await using var gateway = await StartNodeAsync(new()
        {
            ["Gateway:Throttling:Default:ConcurrentRequests"] = "2",
            ["Gateway:Throttling:Default:ConcurrentLongLived"] = "1",
        });
        using var client = gateway.CreateClient();

        // Downloads the client does not read stay in flight at the gateway.
        var first = await SendAsync(client, "/owa/?download=100000000000", read: HttpCompletionOption.ResponseHeadersRead);
        using var second = await SendAsync(client, "/owa/?download=100000000000", read: HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using (var third = await SendAsync(client, "/owa/"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        }
        first.Dispose();
        await HealthTestKit.EventuallyAsync(async () =>
        {
            using var again = await SendAsync(client, "/owa/");
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the ended download's slot is free again");

        // ActiveSync Ping is long-lived: one at a time; the refusal is ActiveSync's 503 with Retry-After.
        second.Dispose();
        using var ping = await SendAsync(client, "/Microsoft-Server-ActiveSync?Cmd=Ping&download=100000000000", "bob@contoso.com", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        using var secondPing = await SendAsync(client, "/Microsoft-Server-ActiveSync?Cmd=Ping&DeviceId=D2", "bob@contoso.com");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, secondPing.StatusCode);
        Assert.NotNull(secondPing.Headers.RetryAfter);
        using var sync = await SendAsync(client, "/Microsoft-Server-ActiveSync?Cmd=Sync&DeviceId=D2", "bob@contoso.com");
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
    }

    [Fact]
    public async Task Three_nodes_sharing_redis_give_a_user_one_budget_and_keep_serving_while_redis_is_away()
    {
        var shared = new Dictionary<string, string?>
        {
            ["Gateway:Redis:Configuration"] = _redis.Configuration,
            ["Gateway:Redis:KeyPrefix"] = "t" + Guid.NewGuid().ToString("N")[..6] + ":",
            ["Gateway:Throttling:Families:Ews:RequestsPerWindow"] = "9",
            ["Gateway:Throttling:Families:Ews:Window"] = "00:10:00",
        };
        var log = new CapturingLogSink();
        await using var nodeA = await StartNodeAsync(shared, log);
        await using var nodeB = await StartNodeAsync(shared, log);
        await using var nodeC = await StartNodeAsync(shared, log);
        HttpClient[] clients = [nodeA.CreateClient(), nodeB.CreateClient(), nodeC.CreateClient()];
        try
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 15; i++)
            {
                using var response = await SendAsync(clients[i % 3], "/EWS/Exchange.asmx");
                statuses.Add(response.StatusCode);
            }
            Assert.Equal(9, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(6, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
            Assert.All(statuses.Skip(9), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));

            // Redis away: each node counts on its own (and says so); requests of a fresh user keep succeeding.
            await _redis.StopAsync();
            for (var i = 0; i < 6; i++)
            {
                using var response = await SendAsync(clients[i % 3], "/EWS/Exchange.asmx", "bob@contoso.com");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            Assert.Contains(log.Events, e => e.RenderMessage().StartsWith("\"Throttling counters\" fall back to this node", StringComparison.Ordinal));

            // Redis back (empty): each node tries it again within a second and counts there once more.
            await _redis.RestartAsync();
            await HealthTestKit.EventuallyAsync(async () =>
            {
                foreach (var client in clients)
                {
                    using var response = await SendAsync(client, "/EWS/Exchange.asmx", "bob@contoso.com");
                }
                return log.Events.Count(e => e.RenderMessage().StartsWith("\"Throttling counters\" are shared through Redis again", StringComparison.Ordinal)) == 3;
            }, TimeSpan.FromSeconds(30), "all three nodes count in Redis again");
            var carol = new List<HttpStatusCode>();
            for (var i = 0; i < 12; i++)
            {
                using var response = await SendAsync(clients[i % 3], "/EWS/Exchange.asmx", "carol@contoso.com");
                carol.Add(response.StatusCode);
            }
            Assert.Equal(9, carol.Count(s => s == HttpStatusCode.OK));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }
}
