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
        var attempt = 0;
        var wrong = 0;
        var busyAnswers = 0;
        HttpResponseMessage? busy = null;
        // The slow check and the first quick one race for the slot: when a quick one wins, the slow check is the one
        // answered 503 (also "busy", also not a failure) and the round is run again.
        for (var round = 1; busy is null; round++)
        {
            Assert.True(round <= 5, "the slow check never held the slot while another arrived");
            var slow = client.BasicGetAsync("slow@contoso.com", "wrong");
            // A new name each time, so the account back-off never answers before the hashing cap can.
            var answer = await LoginSources.PollAsync(
                async () =>
                {
                    var response = await other.BasicGetAsync($"nobody{++attempt}@contoso.com", "wrong");
                    wrong += response.StatusCode == HttpStatusCode.Unauthorized ? 1 : 0;
                    return response;
                },
                r => r.StatusCode == HttpStatusCode.ServiceUnavailable || slow.IsCompleted, TimeSpan.FromSeconds(30), "a busy answer");
            var slowAnswer = await slow;
            if (answer.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                busy = answer;
                busyAnswers++;
            }
            if (slowAnswer.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                busyAnswers++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.Unauthorized, slowAnswer.StatusCode);
                wrong++;
            }
        }
        Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
        Assert.Empty(busy.Headers.WwwAuthenticate);

        using var scraper = _gateway.CreateClient();
        var metrics = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.Equal(busyAnswers, metrics.Sum("casgateway_login_refusals_total", ("protocol", "Basic"), ("reason", "busy")));
        Assert.Equal(wrong, metrics.Sum("casgateway_login_failures_total", ("protocol", "Basic")));
        Assert.Equal(HttpStatusCode.OK, (await other.BasicGetAsync("bob@contoso.com", "pw-bob")).StatusCode);
    }
}
