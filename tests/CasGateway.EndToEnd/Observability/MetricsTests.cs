using System.Net;
using CasGateway.Anchoring;
using CasGateway.Observability;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Observability;

/// <summary>Issue 9: the Prometheus endpoint shows the gateway's meters with the values known traffic must give.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        // No background health probes: the pool holds only the connections the counted requests opened.
        _gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?> { ["Gateway:Backend:Health:ActiveEnabled"] = "false" });
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, string user = "alice@contoso.com", string? cookie = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        var response = await _client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>
    /// Scrapes until <paramref name="ready"/> holds: a request's metrics are recorded when its response has completed,
    /// which can be a moment after the client has read it, and the exporter caches a scrape for a moment.
    /// </summary>
    private Task<PrometheusText> ScrapeAsync(Func<PrometheusText, bool> ready) => ScrapeAsync(_client, ready);

    private static async Task<PrometheusText> ScrapeAsync(HttpClient client, Func<PrometheusText, bool> ready)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var response = await client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
            if (ready(metrics))
            {
                return metrics;
            }
            if (DateTime.UtcNow > deadline)
            {
                return metrics;
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Five_requests_for_alice_read_five_with_their_latencies_and_lookups()
    {
        string? cookie = null;
        for (var i = 0; i < 5; i++)
        {
            using var response = await SendAsync("/owa/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            cookie ??= response.Headers.GetValues("Set-Cookie").Select(v => v.Split(';')[0]).Single(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal));
        }
        using (var withCookie = await SendAsync("/owa/inbox", cookie: cookie))
        {
            Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
        }
        using (var anonymous = await _client.GetAsync("/EWS/Exchange.asmx"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var metrics = await ScrapeAsync(m => m.Sum("casgateway_requests_total", ("family", "Owa")) >= 6 && m.Has("casgateway_requests_total", ("family", "Ews")));
        Assert.Equal(6, metrics.Sum("casgateway_requests_total", ("family", "Owa"), ("decision", "Proxy"), ("status", "200")));
        Assert.Equal(1, metrics.Sum("casgateway_requests_total", ("family", "Ews"), ("decision", "Rejected"), ("status", "401")));
        Assert.Equal(6, metrics.Sum("casgateway_request_duration_seconds_count", ("family", "Owa")));
        Assert.True(metrics.Sum("casgateway_request_duration_seconds_sum", ("family", "Owa")) > 0);

        // No cookie on the first five: one locator call, then the cache; the sixth carried the cookie.
        Assert.Equal(5, metrics.Sum("casgateway_backend_cookie_lookups_total", ("result", "miss")));
        Assert.Equal(1, metrics.Sum("casgateway_backend_cookie_lookups_total", ("result", "hit")));
        Assert.Equal(1, metrics.Sum("casgateway_locator_cache_lookups_total", ("result", "miss")));
        Assert.Equal(4, metrics.Sum("casgateway_locator_cache_lookups_total", ("result", "hit")));
        Assert.Equal(1, metrics.Sum("casgateway_locate_duration_seconds_count", ("source", "locator")));
        Assert.Equal(4, metrics.Sum("casgateway_locate_duration_seconds_count", ("source", "cache")));
        Assert.Equal(6, metrics.Sum("casgateway_backend_time_to_first_byte_seconds_count", ("server", "mbx1.contoso.com")));
        Assert.False(metrics.Has("casgateway_backend_time_to_first_byte_seconds_count", ("server", "mbx2.contoso.com")));

        // Sequential requests share one pooled connection to mbx1, and the test's one connection to the gateway.
        var mbx1Port = _topology.Backend("mbx1.contoso.com").BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, metrics.Sum("http_client_open_connections", ("server_port", mbx1Port)));
        // The dashboard's HTTP client series are there; the per-request duration, which says what the backend's
        // time to first byte says, is not exported.
        Assert.Equal(0, metrics.Sum("http_client_active_requests", ("server_port", mbx1Port)));
        Assert.True(metrics.Has("http_client_active_requests", ("server_port", mbx1Port)), metrics.Text);
        Assert.False(metrics.Has("http_client_request_duration_seconds_count"), metrics.Text);
        var gatewayPort = _gateway.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(1, metrics.Sum("kestrel_active_connections", ("server_port", gatewayPort)));
    }

    /// <summary>Each meter moved by the event it describes: an admin's state change, a database switchover, a dead server.</summary>
    [Fact]
    public async Task Component_states_retries_and_breaker_transitions_follow_real_events()
    {
        await using var topology = await TestTopology.StartAsync();
        var settings = Health.HealthTestKit.Settings();
        settings["Gateway:Backend:Health:ActiveEnabled"] = "false";
        // Open for the whole test: on a loaded machine the default 3 s can pass between the failures, and the
        // half-open trial that then fails would count a second opening.
        settings["Gateway:Backend:Health:BreakerBreakDuration"] = "00:01:00";
        await using var gateway = await TestGateway.StartAsync(topology, settings);
        using var client = gateway.CreateClient();

        // An admin takes ECP out: its gauge drops to Inactive, OWA's stays Active.
        await Health.HealthTestKit.SetStateAsync(client, topology, "Ecp", "Inactive");
        var metrics = await ScrapeAsync(client, m => m.Sum("casgateway_component_state", ("component", "Ecp")) == 0 && m.Has("casgateway_component_state", ("component", "Ecp")));
        Assert.Equal(0, metrics.Sum("casgateway_component_state", ("component", "Ecp")));
        Assert.Equal(2, metrics.Sum("casgateway_component_state", ("component", "Owa")));
        Assert.Equal(2, metrics.Sum("casgateway_component_state", ("component", "ServerWideOffline")));

        // DB01 becomes active on mbx2 before the gateway's directory knows: mbx1 says so, the gateway retries there.
        topology.Directory.Activate("DB01", "mbx2.contoso.com");
        using (var moved = await SendAsync(client, topology, "alice@contoso.com"))
        {
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        }

        // mbx2 dies: requests for bob fail to connect until its breaker opens.
        var mbx2 = topology.Backend("mbx2.contoso.com").BaseAddress.Authority;
        await topology.StopServerAsync("mbx2.contoso.com");
        for (var i = 0; i < 4; i++)
        {
            using var failed = await SendAsync(client, topology, "bob@contoso.com");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        metrics = await ScrapeAsync(client, m => m.Has("casgateway_circuit_breaker_state", ("server", mbx2)) && m.Has("casgateway_retries_total", ("reason", "MountedElsewhere")));
        Assert.Equal(1, metrics.Sum("casgateway_retries_total", ("family", "Owa"), ("reason", "MountedElsewhere")));
        Assert.True(metrics.Sum("casgateway_retries_total", ("family", "Owa"), ("reason", "Unreachable")) >= 1);
        Assert.Equal(2, metrics.Sum("casgateway_circuit_breaker_state", ("server", mbx2)));
        Assert.Equal(1, metrics.Sum("casgateway_circuit_breaker_transitions_total", ("server", mbx2), ("state", "Open")));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, TestTopology topology, string user)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox(user));
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    [Fact]
    public async Task Scrape_needs_no_credentials_and_is_logged_as_local()
    {
        using var response = await _client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Headers.WwwAuthenticate.FirstOrDefault());
        var metrics = await ScrapeAsync(m => m.Has("casgateway_requests_total", ("family", "None")));
        Assert.True(metrics.Sum("casgateway_requests_total", ("family", "None"), ("decision", "Local"), ("status", "200")) >= 1);
    }
}
