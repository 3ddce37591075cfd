using System.Net;
using System.Text.Json;
using CasGateway.Health;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Health;

/// <summary>Issue 6: <c>healthcheck.htm</c> per family, <c>/healthz</c>, <c>/readyz</c>, and what turns them down.</summary>
public sealed class HealthCheckTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private Func<CountingLocator> _locator = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, HealthTestKit.Settings(), services => _locator = CountingLocator.Install(services));
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    public static TheoryData<string> Paths => new()
    {
        "/owa/healthcheck.htm",
        "/ecp/healthcheck.htm",
        "/EWS/healthcheck.htm",
        "/Microsoft-Server-ActiveSync/healthcheck.htm",
        "/mapi/healthcheck.htm",
        "/rpc/healthcheck.htm",
        "/OAB/healthcheck.htm",
        "/Autodiscover/healthcheck.htm",
        "/PowerShell/healthcheck.htm",
        "/OWA/HealthCheck.htm",
        "/microsoft-server-activesync/HEALTHCHECK.HTM",
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Every_family_answers_anonymously_with_200_and_the_node_name(string path)
    {
        var before = _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;
        using var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("200 OK<br/>cas-test.contoso.com", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests);
    }

    [Fact]
    public async Task Head_probe_answers_without_a_body()
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/owa/healthcheck.htm"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Liveness_and_readiness_answer_anonymously()
    {
        using var live = await _client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await live.Content.ReadAsStringAsync());

        using var ready = await _client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Ready", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", json.RootElement.GetProperty("dependencies").GetProperty("checks").GetProperty("locator").GetProperty("status").GetString());
        Assert.Equal("2 of 2 mailbox server(s) reachable",
            json.RootElement.GetProperty("dependencies").GetProperty("checks").GetProperty("backends").GetProperty("description").GetString());
    }

    [Fact]
    public async Task Draining_one_family_fails_only_its_probe_and_its_requests_are_still_served()
    {
        await _client.SetStateAsync(_topology, "OwaProxy", "Draining");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/ews/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/readyz")).Status);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        Assert.Equal("mbx2.contoso.com", (await (await _client.SendAsync(request)).ReadAnswerAsync()).Server);

        await _client.SetStateAsync(_topology, "Owa", "Active");
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Draining_the_node_fails_every_probe_and_readiness()
    {
        await _client.SetStateAsync(_topology, "ServerWideOffline", "Draining");

        foreach (var (directory, _) in HealthEndpoints.VirtualDirectories)
        {
            var (status, body) = await _client.ProbeAsync($"/{directory}/healthcheck.htm");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("503 Service Unavailable<br/>cas-test.contoso.com", body);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.ProbeAsync("/readyz")).Status);
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/healthz")).Status);
    }

    [Fact]
    public async Task An_inactive_family_refuses_its_requests_with_503_and_closes_the_connection()
    {
        await _client.SetStateAsync(_topology, "Ews", "Inactive");
        var before = _topology.Backend("mbx1.contoso.com").Requests;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
    }

    [Fact]
    public async Task A_failing_locator_turns_probes_503_until_it_answers_again()
    {
        var locator = _locator();
        locator.Unavailable = true;
        await HealthTestKit.EventuallyAsync(async () => (await _client.ProbeAsync()).Status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10), "probe 503 after the locator failed");
        var ready = (await _client.ProbeAsync("/readyz")).Body;
        Assert.Contains("test: store unreachable", ready, StringComparison.Ordinal);

        locator.Unavailable = false;
        await HealthTestKit.EventuallyAsync(async () => (await _client.ProbeAsync()).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10), "probe 200 after the locator recovered");
    }

    [Fact]
    public async Task All_backends_down_turns_probes_503_and_one_is_enough()
    {
        await _topology.StopServerAsync("mbx1.contoso.com");
        await HealthTestKit.EventuallyAsync(async () => (await _client.ProbeAsync("/readyz")).Body.Contains("1 of 2 mailbox server(s) reachable", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "YARP's probes marking mbx1 unhealthy and the next dependency report saying so");
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync()).Status);

        await _topology.StopServerAsync("mbx2.contoso.com");
        await HealthTestKit.EventuallyAsync(async () => (await _client.ProbeAsync()).Status == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(15), "probe 503 once no backend answers YARP's probes");
        Assert.Contains("0 of 2 mailbox server(s) reachable", (await _client.ProbeAsync("/readyz")).Body, StringComparison.Ordinal);
    }
}
