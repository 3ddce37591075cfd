using CasGateway.Location;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using CasGateway.Configuration;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issues 8 and 17: mail settings and directory entries are checked at start-up; without settings there are no mail listeners.</summary>
public sealed class MailConfigurationTests
{
    [Fact]
    public async Task Malformed_imap_endpoint_in_the_directory_is_named_at_start()
    {
        await using var topology = await TestTopology.StartAsync();
        topology.Directory.MailEndpoints["mbx1.contoso.com"] = ("127.0.0.1:993", "127.0.0.1:995");
        topology.Directory.MailEndpoints["mbx2.contoso.com"] = ("mbx2.contoso.com", "127.0.0.1:99999");
        topology.Directory.SmtpEndpoints["mbx1.contoso.com"] = "127.0.0.1:25";
        topology.Directory.SmtpEndpoints["mbx2.contoso.com"] = "mbx2 contoso.com:25";
        topology.Directory.Save();
        var error = await Assert.ThrowsAsync<DirectoryLoadException>(() => TestGateway.StartAsync(topology));
        Assert.Contains("$.servers[1].imapEndpoint: 'mbx2.contoso.com' is not host:port", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.servers[1].popEndpoint: '127.0.0.1:99999' is not host:port", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.servers[1].smtpEndpoint: 'mbx2 contoso.com:25' is not host:port", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("servers[0]", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<Dictionary<string, string?>, string> InvalidSettings => new()
    {
        { new() { ["Gateway:Mail:Imap:ImplicitTlsPort"] = "0" }, "Gateway:Mail:Backend:MasterUser: required when an IMAP or POP3 listener is enabled" },
        { new() { ["Gateway:Mail:MaxLineLength"] = "10" }, "MaxLineLength" },
        { new() { ["Gateway:Mail:Pop:StartTlsPort"] = "70000" }, "StartTlsPort" },
        { new() { ["Gateway:Mail:Backend:LoginFormat"] = "{master}" }, "LoginFormat must contain {user}" },
        { new() { ["Gateway:Mail:Smtp:InboundPort"] = "70000" }, "InboundPort" },
        { new() { ["Gateway:Mail:Smtp:MaxRecipients"] = "0" }, "MaxRecipients" },
        { new() { ["Gateway:Mail:Smtp:AcceptedDomains:0"] = "contoso.com", ["Gateway:Mail:Smtp:AcceptedDomains:1"] = "not a domain" }, "Smtp:AcceptedDomains: 'not a domain' is not a domain name" },
        { new() { ["Gateway:Mail:Smtp:HostName"] = "-bad-" }, "HostName must be a host name" },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public async Task Invalid_mail_settings_stop_the_start_with_a_clear_message(Dictionary<string, string?> settings, string expected)
    {
        await using var topology = await TestTopology.StartAsync();
        // The one configuration check refuses the start before any stage reads a setting, naming the setting.
        var error = await Assert.ThrowsAsync<GatewayConfigurationException>(() => TestGateway.StartAsync(topology, settings));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_mail_settings_no_mail_listener_is_opened()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology);
        var listeners = gateway.GetRequiredService<MailListeners>();
        Assert.Throws<InvalidOperationException>(() => listeners.EndPointOf(MailProtocol.Imap, implicitTls: true));
        Assert.Throws<InvalidOperationException>(() => listeners.EndPointOf(MailProtocol.Pop3, implicitTls: false));
        Assert.Throws<InvalidOperationException>(() => listeners.EndPointOf(MailProtocol.Smtp, implicitTls: false, inbound: true));
        Assert.Single(gateway.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses);
    }
}
