using System.Net;
using CasGateway.EndToEnd.Health;
using CasGateway.Sip;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// One gateway with all three SIP listeners for the class; peers 127.0.0.1/32, pilot number 4000. The directory
/// gives alice (DB01 on mbx1) extension 4501, SIP address and E.164 number, bob (DB02 on mbx2) extension 4502;
/// each server has a umEndpoint.
/// </summary>
public sealed class SipFixture : IAsyncLifetime
{
    public const string Pilot = "4000";

    public TestTopology Topology { get; private set; } = null!;

    public TestGateway Gateway { get; private set; } = null!;

    public CapturingLogSink Log { get; } = new();

    public SipListeners Listeners => Gateway.GetRequiredService<SipListeners>();

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        var directory = Topology.Directory;
        directory.UmEndpoints["mbx1.contoso.com"] = "mbx1.contoso.com:5062";
        directory.UmEndpoints["mbx2.contoso.com"] = "mbx2.contoso.com:5063";
        directory.Voice["alice@contoso.com"] = ("4501", "alice@contoso.com", "+14255554501");
        directory.Voice["bob@contoso.com"] = ("4502", null, null);
        directory.Save();
        var settings = HealthTestKit.Settings();
        settings["Gateway:Site"] = "Site1";
        settings["Gateway:Sip:TcpPort"] = "0";
        settings["Gateway:Sip:TlsPort"] = "0";
        settings["Gateway:Sip:UdpPort"] = "0";
        settings["Gateway:Sip:Peers:0"] = "127.0.0.1/32";
        settings["Gateway:Sip:PilotNumbers:0"] = Pilot;
        settings["Serilog:MinimumLevel:Override:CasGateway.Sip"] = "Information";
        Gateway = await TestGateway.StartAsync(Topology, settings, services => services.AddSingleton<ILogEventSink>(Log));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Topology.DisposeAsync();
    }

    /// <summary>Waits for a SIP log event whose text contains <paramref name="fragment"/>.</summary>
    public async Task<LogEvent> WaitForLogAsync(params string[] fragments)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var found = Log.Events.FirstOrDefault(e => e.Properties.TryGetValue("SourceContext", out var source)
                && source.ToString().Contains("CasGateway.Sip", StringComparison.Ordinal)
                && fragments.All(f => e.RenderMessage().Contains(f, StringComparison.Ordinal)));
            if (found is not null)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"No SIP log event containing '{string.Join("', '", fragments)}'");
            }
            await Task.Delay(20);
        }
    }
}

public sealed class SipCallRouterTests(SipFixture fixture, ITestOutputHelper output) : IClassFixture<SipFixture>
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(5);

    private IPEndPoint Udp => fixture.Listeners.Udp!;

    private IPEndPoint Tcp => fixture.Listeners.Tcp!;

    private IPEndPoint Tls => fixture.Listeners.Tls!;

    private async Task CallAsync(string scenario, bool tcp, string service = "4501", string localAddress = "127.0.0.1")
    {
        var (exitCode, log) = await Sipp.RunAsync(scenario, tcp ? Tcp : Udp, tcp, service, localAddress);
        if (exitCode != 0)
        {
            output.WriteLine(log);
        }
        Assert.True(exitCode == 0, $"SIPp exit code {exitCode} ({(tcp ? "TCP" : "UDP")}, {service}); its trace is in the test output");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Alices_extension_is_redirected_to_her_server_and_the_ack_absorbed(bool tcp)
    {
        var transport = tcp ? "tcp" : "udp";
        await CallAsync(Sipp.Invite(302, $@"^ *<sip:4501@mbx1\.contoso\.com:5062;transport={transport}>$"), tcp);
        await fixture.WaitForLogAsync("SIP \"INVITE\"", tcp ? "over Tcp" : "over Udp", "mailbox \"alice@contoso.com\" on \"mbx1.contoso.com\": 302");
        await fixture.WaitForLogAsync("SIP \"ACK\"", tcp ? "over Tcp" : "over Udp", "absorbed");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_scenario_the_docs_give_newcomers_logs_where_the_call_was_redirected(bool tcp)
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "CasGateway.sln")))
        {
            folder = folder.Parent;
        }
        Assert.NotNull(folder);
        var scenario = await File.ReadAllTextAsync(Path.Combine(folder.FullName, "docs", "sip-redirect.xml"));
        var (exitCode, log) = await Sipp.RunAsync(scenario, tcp ? Tcp : Udp, tcp, "4502");
        output.WriteLine(log);
        Assert.Equal(0, exitCode);
        Assert.Contains($"4502 is redirected to <sip:4502@mbx2.contoso.com:5063;transport={(tcp ? "tcp" : "udp")}>", log);
    }

    [Fact]
    public async Task After_her_database_moves_alices_calls_go_to_the_new_server()
    {
        var directory = fixture.Topology.Directory;
        directory.Activate("DB01", "mbx2.contoso.com");
        directory.Save();
        try
        {
            // The gateway reloads the file by itself; poll until it answers from the new version.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!((await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP"), Answer)) ?? "").Contains("@mbx2.contoso.com", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the redirect never followed the move");
                await Task.Delay(50);
            }
            await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx2\.contoso\.com:5063;transport=udp>$"), tcp: false);
            await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx2\.contoso\.com:5063;transport=tcp>$"), tcp: true);
        }
        finally
        {
            directory.Activate("DB01", "mbx1.contoso.com");
            directory.Save();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!((await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP"), Answer)) ?? "").Contains("@mbx1.contoso.com", StringComparison.Ordinal)
                && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_unknown_extension_is_not_found_and_the_pilot_number_reaches_a_site_server(bool tcp)
    {
        await CallAsync(Sipp.Invite(404), tcp, service: "4999");
        await CallAsync(Sipp.Invite(302, $@"^ *<sip:{SipFixture.Pilot}@mbx[12]\.contoso\.com:506[23];transport={(tcp ? "tcp" : "udp")}>$"), tcp, service: SipFixture.Pilot);
    }

    [Fact]
    public async Task A_call_forwarded_to_the_pilot_goes_to_the_diverting_users_server()
    {
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4000@mbx2\.contoso\.com:5063;transport=udp>$", "Diversion: <sip:4502@pbx.contoso.com>;reason=no-answer\r\n"),
            tcp: false, service: SipFixture.Pilot);
        var historyInfo = RawSip.Request("INVITE", "sip:4000@127.0.0.1", "UDP",
            "History-Info: <sip:4501@pbx.contoso.com?Reason=SIP%3Bcause%3D408>;index=1, <sip:4000@127.0.0.1>;index=1.1\r\n");
        Assert.Contains("Contact: <sip:4000@mbx1.contoso.com:5062;transport=udp>", await RawSip.UdpAsync(Udp, historyInfo, Answer));
    }

    [Fact]
    public async Task Sip_addresses_and_e164_numbers_find_the_mailbox_too()
    {
        Assert.Contains("Contact: <sip:alice@mbx1.contoso.com:5062;transport=udp>",
            await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:alice@contoso.com", "UDP"), Answer));
        Assert.Contains("Contact: <sip:+14255554501@mbx1.contoso.com:5062;transport=udp>",
            await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "tel:+1-425-555-4501", "UDP"), Answer));
        Assert.Contains("Contact: <sip:+14255554501@mbx1.contoso.com:5062;transport=udp>",
            await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:+14255554501@gw.contoso.com;user=phone", "UDP"), Answer));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Options_from_a_peer_are_answered_200_with_allow(bool tcp)
        => await CallAsync(Sipp.Options(200), tcp);

    [Fact]
    public async Task The_response_copies_every_via_from_to_call_id_and_cseq_and_tags_to()
    {
        const string vias = "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtop;rport\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKmid, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKlow\r\n";
        var request = "INVITE sip:4502@127.0.0.1 SIP/2.0\r\n" + vias
            + "f: \"Caller\" <sip:+15551234@gw.contoso.com>;tag=abc\r\nt: <sip:4502@127.0.0.1>\r\ni: call-77@gw\r\nCSeq: 314 INVITE\r\nMax-Forwards: 70\r\nl: 0\r\n\r\n";
        var response = await RawSip.UdpAsync(Udp, request, Answer);
        Assert.NotNull(response);
        var lines = response.Split("\r\n");
        Assert.Equal("SIP/2.0 302 Moved Temporarily", lines[0]);
        Assert.StartsWith("Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKtop;rport=", lines[1]);
        Assert.EndsWith(";received=127.0.0.1", lines[1]);
        Assert.Equal("Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKmid, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKlow", lines[2]);
        Assert.Equal("From: \"Caller\" <sip:+15551234@gw.contoso.com>;tag=abc", lines[3]);
        Assert.Matches("^To: <sip:4502@127.0.0.1>;tag=[0-9a-f]{16}$", lines[4]);
        Assert.Equal("Call-ID: call-77@gw", lines[5]);
        Assert.Equal("CSeq: 314 INVITE", lines[6]);
        Assert.Equal("Contact: <sip:4502@mbx2.contoso.com:5063;transport=udp>", lines[7]);
        Assert.Contains("Content-Length: 0", lines);
        // A retransmission gets the same To tag: nothing is remembered, the tag is derived from the request.
        Assert.Equal(lines[4], (await RawSip.UdpAsync(Udp, request, Answer))!.Split("\r\n")[4]);
    }

    [Fact]
    public async Task Other_methods_get_405_or_501_and_cancel_481()
    {
        var register = await RawSip.UdpAsync(Udp, RawSip.Request("REGISTER", "sip:contoso.com", "UDP"), Answer);
        Assert.StartsWith("SIP/2.0 405 Method Not Allowed\r\n", register);
        Assert.Contains("Allow: INVITE, ACK, CANCEL, OPTIONS\r\n", register);
        Assert.StartsWith("SIP/2.0 501 Not Implemented\r\n", await RawSip.UdpAsync(Udp, RawSip.Request("FROBNICATE", "sip:4501@127.0.0.1", "UDP"), Answer));
        Assert.StartsWith("SIP/2.0 481 ", await RawSip.UdpAsync(Udp, RawSip.Request("CANCEL", "sip:4501@127.0.0.1", "UDP"), Answer));
    }

    [Fact]
    public async Task Tls_calls_are_redirected_with_transport_tls()
    {
        await using var connection = await RawSip.ConnectAsync(Tls, fixture.Topology.GatewayCertificate);
        await connection.SendAsync(RawSip.Request("INVITE", "sip:4501@127.0.0.1", "TLS"));
        var response = await connection.ReadResponseAsync();
        Assert.StartsWith("SIP/2.0 302 Moved Temporarily\r\n", response);
        Assert.Contains("Contact: <sip:4501@mbx1.contoso.com:5062;transport=tls>\r\n", response);
        // The connection stays open for the next request.
        await connection.SendAsync(RawSip.Request("OPTIONS", "sip:127.0.0.1", "TLS"));
        Assert.StartsWith("SIP/2.0 200 OK\r\n", await connection.ReadResponseAsync());
    }

    [Fact]
    public async Task A_non_peer_is_refused_403_over_tcp_and_tls_and_dropped_over_udp()
    {
        await CallAsync(Sipp.Invite(403), tcp: true, localAddress: "127.0.0.2");
        await using (var tls = await RawSip.ConnectAsync(Tls, fixture.Topology.GatewayCertificate, localAddress: "127.0.0.2"))
        {
            await tls.SendAsync(RawSip.Request("INVITE", "sip:4501@127.0.0.1", "TLS"));
            Assert.StartsWith("SIP/2.0 403 Forbidden\r\n", await tls.ReadResponseAsync());
            await tls.SendAsync(RawSip.Request("OPTIONS", "sip:127.0.0.1", "TLS"));
            Assert.StartsWith("SIP/2.0 403 Forbidden\r\n", await tls.ReadResponseAsync());
        }
        var callId = "non-peer-" + Guid.NewGuid().ToString("N");
        var udpTask = RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP", callId: callId), TimeSpan.FromSeconds(1), localAddress: "127.0.0.2");
        await fixture.WaitForLogAsync("127.0.0.2", "over Udp: not a configured peer", "dropped");
        Assert.Null(await udpTask);
    }

    [Fact]
    public async Task Malformed_and_oversized_messages_are_refused_and_the_listeners_still_answer()
    {
        // TCP: a bad CSeq with every header needed to answer → 400, then the connection closes (framing is lost).
        await using (var connection = await RawSip.ConnectAsync(Tcp))
        {
            await connection.SendAsync(RawSip.Request("INVITE", "sip:4501@127.0.0.1", "TCP").Replace("CSeq: 7 INVITE", "CSeq: x INVITE", StringComparison.Ordinal));
            Assert.StartsWith("SIP/2.0 400 Bad Request\r\n", await connection.ReadResponseAsync());
            Assert.True(await connection.ClosedAsync());
        }
        // TCP: header section beyond the size limit → closed without an answer.
        await using (var connection = await RawSip.ConnectAsync(Tcp))
        {
            await connection.SendAsync("INVITE sip:4501@127.0.0.1 SIP/2.0\r\n" + string.Concat(Enumerable.Repeat("X-Pad: " + new string('a', 1000) + "\r\n", 10)));
            Assert.True(await connection.ClosedAsync());
        }
        // TCP: NUL in a header, binary junk, no Content-Length on a stream.
        foreach (var bad in (string[])["INVITE sip:4501@127.0.0.1 SIP/2.0\r\nVia: a\0b\r\n\r\n", "\u0001\u0002garbage\r\n\r\n",
            RawSip.Request("INVITE", "sip:4501@127.0.0.1", "TCP").Replace("Content-Length: 0\r\n", "", StringComparison.Ordinal)])
        {
            await using var connection = await RawSip.ConnectAsync(Tcp);
            await connection.SendAsync(bad);
            var answer = await connection.ReadResponseAsync();
            Assert.True(answer is null || answer.StartsWith("SIP/2.0 400 ", StringComparison.Ordinal), answer);
        }
        // UDP: junk and an oversized datagram are dropped.
        Assert.Null(await RawSip.UdpAsync(Udp, new byte[] { 0, 1, 2, 3, 0xff, 13, 10, 13, 10 }, TimeSpan.FromMilliseconds(500)));
        Assert.Null(await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP", "X-Pad: " + new string('a', 1500) + "\r\n"
            + string.Concat(Enumerable.Repeat("X-Pad: " + new string('b', 1000) + "\r\n", 8))), TimeSpan.FromMilliseconds(500)));
        // And the next real calls are answered.
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx1\.contoso\.com:5062;transport=udp>$"), tcp: false);
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx1\.contoso\.com:5062;transport=tcp>$"), tcp: true);
    }

    [Fact]
    public async Task While_the_call_router_drains_new_calls_and_options_get_503()
    {
        using var http = fixture.Gateway.CreateClient();
        await http.SetStateAsync(fixture.Topology, "UmCallRouter", "Draining");
        try
        {
            await CallAsync(Sipp.Invite(503), tcp: false);
            await CallAsync(Sipp.Invite(503), tcp: true);
            await CallAsync(Sipp.Options(503), tcp: false);
            var answer = await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP"), Answer);
            Assert.Contains("Retry-After: 30\r\n", answer);
            using var probe = await http.GetAsync("/um/healthcheck.htm");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, probe.StatusCode);
        }
        finally
        {
            await http.SetStateAsync(fixture.Topology, "UmCallRouter", "Active");
        }
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx1\.contoso\.com:5062;transport=udp>$"), tcp: false);
    }

    [Fact]
    public async Task Answers_and_refusals_are_counted()
    {
        using var http = fixture.Gateway.CreateClient();
        Assert.NotNull(await RawSip.UdpAsync(Udp, RawSip.Request("OPTIONS", "sip:127.0.0.1", "UDP"), Answer));
        await using (var stranger = await RawSip.ConnectAsync(Tcp, localAddress: "127.0.0.3"))
        {
            await stranger.SendAsync(RawSip.Request("OPTIONS", "sip:127.0.0.1", "TCP"));
            Assert.StartsWith("SIP/2.0 403 ", await stranger.ReadResponseAsync());
        }
        var scrape = PrometheusText.Parse(await http.GetStringAsync("/metrics"));
        Assert.True(scrape.Sum("casgateway_sip_requests_total", ("method", "OPTIONS"), ("transport", "udp"), ("status", "200")) >= 1, scrape.Text);
        Assert.True(scrape.Sum("casgateway_sip_peer_refusals_total", ("transport", "tcp")) >= 1, scrape.Text);
    }
}
