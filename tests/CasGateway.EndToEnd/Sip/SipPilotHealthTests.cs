using System.Net;
using CasGateway.Sip;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// Issue 20: a pilot number goes to a healthy server of the site — the health HTTP routing uses (the backends'
/// active probes every second here). Stopping a backend is for good, so the class owns its topology.
/// </summary>
public sealed class SipPilotHealthTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Pilot = "4000";
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;

    private IPEndPoint Udp => _gateway.GetRequiredService<SipListeners>().Udp!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _topology.Directory.UmEndpoints["mbx1.contoso.com"] = "mbx1.contoso.com:5062";
        _topology.Directory.UmEndpoints["mbx2.contoso.com"] = "mbx2.contoso.com:5063";
        _topology.Directory.Voice["bob@contoso.com"] = ("4502", null, null);
        _topology.Directory.Save();
        _gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:Site"] = "Site1",
            ["Gateway:Sip:UdpPort"] = "0",
            ["Gateway:Sip:Peers:0"] = "127.0.0.1/32",
            ["Gateway:Sip:PilotNumbers:0"] = Pilot,
            ["Gateway:Sip:RetryAfterSeconds"] = "9",
            ["Gateway:Backend:Health:ActiveInterval"] = "00:00:01",
            ["Gateway:Backend:Health:ActiveTimeout"] = "00:00:00.500",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _topology.DisposeAsync();
    }

    [Fact]
    public async Task Pilot_calls_skip_a_server_whose_backend_is_down_and_get_503_when_none_is_up()
    {
        // Both servers take pilot calls in turn while healthy.
        var seen = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            seen.Add(await PilotServerAsync());
        }
        Assert.Equal(["mbx1.contoso.com", "mbx2.contoso.com"], seen.Order());

        await _topology.StopServerAsync("mbx2.contoso.com");
        // Once the probes mark mbx2 down, every pilot call goes to mbx1.
        await Health.HealthTestKit.EventuallyAsync(async () =>
        {
            for (var i = 0; i < 4; i++)
            {
                if (await PilotServerAsync() != "mbx1.contoso.com")
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(15), "pilot calls avoided the stopped mbx2");
        for (var i = 0; i < 3; i++)
        {
            var (exitCode, log) = await Sipp.RunAsync(Sipp.Invite(302, @"^ *<sip:4000@mbx1\.contoso\.com:5062;transport=udp>$"), Udp, tcp: false, Pilot);
            if (exitCode != 0)
            {
                output.WriteLine(log);
            }
            Assert.True(exitCode == 0, $"SIPp exit code {exitCode}; its trace is in the test output");
        }
        // A user's call still follows the directory: bob's database is active on mbx2, whatever its health.
        Assert.Contains("@mbx2.contoso.com:5063", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4502@127.0.0.1", "UDP"), TimeSpan.FromSeconds(5)));

        await _topology.StopServerAsync("mbx1.contoso.com");
        await Health.HealthTestKit.EventuallyAsync(async () => await PilotServerAsync() == "503", TimeSpan.FromSeconds(15), "pilot calls got 503 with no server up");
        Assert.Contains("Retry-After: 9\r\n", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", $"sip:{Pilot}@127.0.0.1", "UDP"), TimeSpan.FromSeconds(5)));
    }

    /// <summary>The server a pilot call is redirected to, or the status when it is not redirected.</summary>
    private async Task<string> PilotServerAsync()
    {
        var answer = await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", $"sip:{Pilot}@127.0.0.1", "UDP"), TimeSpan.FromSeconds(5));
        Assert.NotNull(answer);
        var contact = answer.Split("\r\n").FirstOrDefault(l => l.StartsWith("Contact: <sip:4000@", StringComparison.Ordinal));
        return contact is null ? answer.Split(' ')[1] : contact["Contact: <sip:4000@".Length..contact.IndexOf(':', "Contact: <sip:".Length)];
    }
}
