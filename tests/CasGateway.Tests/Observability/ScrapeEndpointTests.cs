using System.Net;
using CasGateway.Tests.Pipeline;
using CasGateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using CasGateway.Configuration;

namespace CasGateway.Tests.Observability;

/// <summary>The Prometheus endpoint answers loopback and allowed networks only; anyone else sees a 404.</summary>
public sealed class ScrapeEndpointTests : IAsyncLifetime
{
    private const string RemoteHeader = "X-Test-Remote-Address";
    private TestTopology _topology = null!;

    public async Task InitializeAsync() => _topology = await TestTopology.StartAsync();

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_topology);

    /// <summary>The in-process host with each request's remote address taken from a test header.</summary>
    private HttpClient Client(GatewayFactory factory) => factory
        .WithWebHostBuilder(web => web.ConfigureServices(services => services.AddSingleton<IStartupFilter, RemoteAddressFromHeader>()))
        .CreateClient();

    private static async Task<HttpStatusCode> ScrapeFromAsync(HttpClient client, string address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add(RemoteHeader, address);
        using var response = await client.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        }
        else
        {
            Assert.Equal("", await response.Content.ReadAsStringAsync());
        }
        return response.StatusCode;
    }

    [Fact]
    public async Task Loopback_is_served_and_other_addresses_get_404()
    {
        await using var factory = GatewayFactory.For(_topology);
        using var client = Client(factory);
        Assert.Equal(HttpStatusCode.NotFound, await ScrapeFromAsync(client, "203.0.113.7"));
        Assert.Equal(HttpStatusCode.OK, await ScrapeFromAsync(client, "127.0.0.1"));
        Assert.Equal(HttpStatusCode.OK, await ScrapeFromAsync(client, "::1"));
        Assert.Equal(HttpStatusCode.NotFound, await ScrapeFromAsync(client, "10.1.2.3"));
        Assert.Equal(HttpStatusCode.NotFound, await ScrapeFromAsync(client, "::ffff:10.1.2.3"));
    }

    [Fact]
    public async Task Configured_networks_may_scrape_including_ipv4_mapped_addresses()
    {
        var settings = _topology.GatewaySettings();
        settings["Gateway:Telemetry:ScrapeAllowedNetworks:0"] = "10.0.0.0/8";
        settings["Gateway:Telemetry:ScrapeAllowedNetworks:1"] = "2001:db8::/32";
        settings["Gateway:Telemetry:PrometheusPath"] = "/metrics";
        await using var factory = new GatewayFactory(settings);
        using var client = Client(factory);
        Assert.Equal(HttpStatusCode.NotFound, await ScrapeFromAsync(client, "192.168.1.1"));
        Assert.Equal(HttpStatusCode.OK, await ScrapeFromAsync(client, "10.1.2.3"));
        Assert.Equal(HttpStatusCode.OK, await ScrapeFromAsync(client, "::ffff:10.1.2.3"));
        Assert.Equal(HttpStatusCode.OK, await ScrapeFromAsync(client, "2001:db8::5"));
        Assert.Equal(HttpStatusCode.NotFound, await ScrapeFromAsync(client, "2001:db9::5"));
    }

    [Fact]
    public async Task A_malformed_network_fails_start_up_naming_it()
    {
        var settings = _topology.GatewaySettings();
        settings["Gateway:Telemetry:ScrapeAllowedNetworks:0"] = "10.0.0.0/33";
        var error = await Assert.ThrowsAsync<GatewayConfigurationException>(() => TestGateway.StartAsync(settings, _topology.GatewayCertificate));
        Assert.Contains("Gateway:Telemetry:ScrapeAllowedNetworks:0 = \"10.0.0.0/33\": must be a network in CIDR form", error.Message, StringComparison.Ordinal);
    }

    private sealed class RemoteAddressFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (IPAddress.TryParse(context.Request.Headers[RemoteHeader].ToString(), out var address))
                {
                    context.Connection.RemoteIpAddress = address;
                }
                return following(context);
            });
            next(app);
        };
    }
}
