using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// Issue 15 item 7: /readyz details (node, components, every mailbox server) only to loopback, the scrape networks
/// and admins; everyone else learns the status alone. Client addresses come through a trusted proxy on loopback.
/// </summary>
public sealed class ReadinessDetailTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:Listeners:TrustedProxies:0"] = "127.0.0.1",
            ["Gateway:Telemetry:ScrapeAllowedNetworks:0"] = "198.51.100.0/24",
            ["Gateway:Health:AdminUsers:0"] = "carol@contoso.com",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _topology.DisposeAsync();
    }

    [Theory]
    [InlineData(null, null, true)]
    [InlineData("203.0.113.7", null, false)]
    [InlineData("203.0.113.7", "alice@contoso.com", false)]
    [InlineData("203.0.113.7", "carol@contoso.com", true)]
    [InlineData("198.51.100.9", null, true)]
    public async Task Details_only_for_loopback_scrape_networks_and_admins(string? forwardedFor, string? user, bool detailed)
    {
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/readyz");
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }
        if (user is not null)
        {
            request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Ready", body.GetProperty("status").GetString());
        Assert.Equal(detailed, body.TryGetProperty("dependencies", out _));
        Assert.Equal(detailed, text.Contains("mbx1", StringComparison.Ordinal));
        Assert.Equal(detailed, text.Contains("cas-test.contoso.com", StringComparison.Ordinal));
    }
}
