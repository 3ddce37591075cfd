using System.Net;
using CasGateway.TestSupport;
using Microsoft.Extensions.Options;

namespace CasGateway.EndToEnd.Autodiscover;

/// <summary>Issue 21: Gateway:Autodiscover is checked at start, naming every bad key; Enabled=false leaves Autodiscover to the mailbox servers.</summary>
public sealed class AutodiscoverConfigurationTests
{
    [Fact]
    public async Task Bad_namespaces_stop_the_start_naming_every_key()
    {
        await using var topology = await TestTopology.StartAsync(servers: 1);
        var error = await Assert.ThrowsAsync<CasGateway.Configuration.GatewayConfigurationException>(() => TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Autodiscover:Enabled"] = "true",
            ["Gateway:Autodiscover:DeploymentId"] = Guid.Empty.ToString(),
            ["Gateway:Autodiscover:ExternalUrl"] = "http://mail.contoso.com/owa",
            ["Gateway:Autodiscover:InternalUrl"] = "https://cas.contoso.local/?x=1",
            ["Gateway:Autodiscover:Sites:Paris:ExternalUrl"] = "https://user@mail.paris.contoso.com",
        }));
        Assert.Contains("Gateway:Autodiscover:DeploymentId: required", error.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:Autodiscover:ExternalUrl = 'http://mail.contoso.com/owa'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:Autodiscover:InternalUrl = 'https://cas.contoso.local/?x=1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Gateway:Autodiscover:Sites:Paris:ExternalUrl", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Gateway:Autodiscover:Mail:Smtp:Port", "70000", "Gateway:Autodiscover:Mail:Smtp:Port")]
    [InlineData("Gateway:Autodiscover:Mail:Smtp:Encryption", "Sometimes", "Gateway:Autodiscover:Mail:Smtp:Encryption")]
    [InlineData("Gateway:Autodiscover:DeploymentId", "not-a-guid", "Gateway:Autodiscover:DeploymentId")]
    [InlineData("Gateway:Autodiscover:ExternalUrl", "not a url", "Gateway:Autodiscover:ExternalUrl")]
    [InlineData("Gateway:Autodiscover:MaxRequestBytes", "10", "Gateway:Autodiscover:MaxRequestBytes")]
    public async Task Values_that_do_not_fit_are_named_before_anything_starts(string key, string value, string expected)
    {
        await using var topology = await TestTopology.StartAsync(servers: 1);
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Autodiscover:Enabled"] = "true",
            ["Gateway:Autodiscover:DeploymentId"] = Guid.NewGuid().ToString(),
            ["Gateway:Autodiscover:ExternalUrl"] = "https://mail.contoso.com",
            ["Gateway:Autodiscover:Mail:Smtp:Host"] = "smtp.contoso.com",
            ["Gateway:Autodiscover:Mail:Smtp:Port"] = "587",
        };
        settings[key] = value;
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestGateway.StartAsync(topology, settings));
        Assert.True(error is OptionsValidationException || error.GetType().Name == "GatewayConfigurationException", error.ToString());
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Smtp:Host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabled_the_gateway_proxies_POX_and_maps_no_JSON_or_autoconfig()
    {
        await using var topology = await TestTopology.StartAsync(servers: 1);
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?> { ["Gateway:Autodiscover:Enabled"] = "false" });
        using var client = gateway.CreateClient();
        using var pox = new HttpRequestMessage(HttpMethod.Post, "/autodiscover/autodiscover.xml") { Content = AutodiscoverDeployment.Xml(PoxAutodiscoverTests.Request("alice@contoso.com")) };
        pox.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox("alice@contoso.com"));
        var served = await AutodiscoverDeployment.ServedByAsync(await client.SendAsync(pox));
        Assert.Equal("mbx1.contoso.com", served.Server);
        using var autoconfig = await client.GetAsync("/mail/config-v1.1.xml");
        Assert.Equal(HttpStatusCode.Unauthorized, autoconfig.StatusCode);
        using var json = await client.GetAsync("/autodiscover/autodiscover.json/v1.0/alice@contoso.com?Protocol=Ews");
        Assert.Equal(HttpStatusCode.Unauthorized, json.StatusCode);
    }
}
