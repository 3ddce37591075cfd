using System.Net;
using CasGateway.Authentication;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Authentication;

/// <summary>
/// The cap on concurrent password hashing over real HTTPS: with one slot and no queueing, a check arriving while a
/// slow hash holds the slot is answered 503 with Retry-After, counted as "busy", and not counted as a failed login.
/// </summary>
public sealed class HashingCapTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        // A hash that takes long enough to hold the only slot while other requests arrive.
        var slow = _topology.Directory.AddMailbox("slow@contoso.com", "DB01");
        _topology.Directory.Mailboxes[_topology.Directory.Mailboxes.IndexOf(slow)] = slow with { PasswordHash = PasswordHash.Create("pw-slow", 1_500_000) };
        _topology.Directory.Save();
        var settings = LoginSources.SmallLimits();
        settings["Gateway:Authentication:FailedLogins:MaxConcurrentHashes"] = "1";
        settings["Gateway:Authentication:FailedLogins:HashQueueTimeout"] = "00:00:00";
        _gateway = await TestGateway.StartAsync(_topology, settings);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _topology.DisposeAsync();
    }

    [Fact]
    public async Task A_check_finding_every_hashing_slot_taken_is_answered_503_and_not_counted_as_a_failure()
    {
        using var client = LoginSources.HttpClientFrom(IPAddress.Parse("127.0.0.31"), _gateway.BaseAddress, _gateway.ServerCertificate);
        using var other = LoginSources.HttpClientFrom(IPAddress.Parse("127.0.0.32"), _gateway.BaseAddress, _gateway.ServerCertificate);
        var slow = client.BasicGetAsync("slow@contoso.com", "wrong");
        var attempt = 0;
        var wrong = 0;
        // A new name each time, so the account back-off never answers before the hashing cap can.
        var busy = await LoginSources.PollAsync(
            async () =>
            {
                var response = await other.BasicGetAsync($"nobody{++attempt}@contoso.com", "wrong");
                wrong += response.StatusCode == HttpStatusCode.Unauthorized ? 1 : 0;
                return response;
            },
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable || slow.IsCompleted, TimeSpan.FromSeconds(30), "a busy answer");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        Assert.Empty(busy.Headers.WwwAuthenticate);
        Assert.Equal(HttpStatusCode.Unauthorized, (await slow).StatusCode);

        using var scraper = _gateway.CreateClient();
        var metrics = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.Equal(1, metrics.Sum("casgateway_login_refusals_total", ("protocol", "Basic"), ("reason", "busy")));
        Assert.Equal(1 + wrong, metrics.Sum("casgateway_login_failures_total", ("protocol", "Basic")));
        Assert.Equal(HttpStatusCode.OK, (await other.BasicGetAsync("bob@contoso.com", "pw-bob")).StatusCode);
    }
}
