using CasGateway.Configuration;
using CasGateway.Sip;
using CasGateway.TestSupport;
using Microsoft.Extensions.Options;

namespace CasGateway.EndToEnd.Sip;

/// <summary>Bad <c>Gateway:Sip</c> settings stop the gateway, each one named; without any, no SIP listener opens.</summary>
public sealed class SipConfigurationTests
{
    public static TheoryData<Dictionary<string, string?>, string[]> InvalidSettings => new()
    {
        { new() { ["Gateway:Sip:TcpPort"] = "70000", ["Gateway:Sip:MaxMessageSize"] = "10" },
            ["Gateway:Sip:TcpPort = \"70000\": must be between 0 and 65535.", "Gateway:Sip:MaxMessageSize = \"10\": must be between 1024 and 65535."] },
        { new() { ["Gateway:Sip:UdpPort"] = "0", ["Gateway:Sip:Peers:0"] = "10.0.0.300", ["Gateway:Sip:PilotNumbers:0"] = "12a",
            ["Gateway:Sip:PeerCertificateThumbprints:0"] = "abc" },
            ["'10.0.0.300' is not an address or CIDR network", "'12a' is not digits or +digits", "'abc' is not a SHA-256 thumbprint"] },
        { new() { ["Gateway:Sip:UdpPort"] = "0" }, ["Gateway:Sip:Peers must list the gateways/PBXs allowed to call"] },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public async Task Invalid_sip_settings_stop_the_start_naming_each_problem(Dictionary<string, string?> settings, string[] expected)
    {
        await using var topology = await TestTopology.StartAsync();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestGateway.StartAsync(topology, settings));
        Assert.True(error is OptionsValidationException or GatewayConfigurationException, error.ToString());
        foreach (var problem in expected)
        {
            Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_sip_settings_no_sip_listener_is_opened()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology);
        var listeners = gateway.GetRequiredService<SipListeners>();
        Assert.Null(listeners.Tcp);
        Assert.Null(listeners.Tls);
        Assert.Null(listeners.Udp);
    }
}
