using System.Net;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Routing;

/// <summary>
/// Issue 4: the site/version decision table, one test row per cell, against two gateway sites.
/// Site1 (gateway A): mbx1, mbx2, ex2010-a + its front end fe2010-a (external URL), fe2007 + ex2007.
/// Site2 (gateway B): mbx3, ex2010-b + its front end fe2010-b (no external URL). Plus one cloud mailbox.
/// </summary>
/// <summary>The two-site deployment the decision-table tests share (they only read it).</summary>
public sealed class SiteVersionDeployment : IAsyncLifetime
{
    public const string ParisOwa = "https://mail.paris.contoso.com/owa";
    public const string RedmondOwa = "https://mail.contoso.com/owa";
    private TestTopology _topology = null!;
    private TestGateway _siteA = null!;
    private TestGateway _siteB = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public TestTopology Topology => _topology;

    public HttpClient A => _a;

    public HttpClient B => _b;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        await _topology.AddSiteVersionWorldAsync();
        _siteA = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:Site"] = "Site1",
            ["Gateway:Routing:Sites:Site2:ExternalUrls:Owa"] = ParisOwa,
            ["Gateway:Routing:LegacyNamespace"] = "https://legacy.contoso.com",
            ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com",
            ["Gateway:Autodiscover:Enabled"] = "false", // these rows test the proxy path; tests/…/Autodiscover cover the answers
        });
        _siteB = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:NodeName"] = "cas-paris.contoso.com",
            ["Gateway:Site"] = "Site2",
            ["Gateway:Routing:Sites:Site1:ExternalUrls:Owa"] = RedmondOwa,
            ["Gateway:Routing:Sites:Site1:ExternalUrls:Ecp"] = "https://mail.contoso.com/ecp",
            ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com",
            ["Gateway:Autodiscover:Enabled"] = "false", // these rows test the proxy path; tests/…/Autodiscover cover the answers
        });
        _a = _siteA.CreateClient();
        _b = _siteB.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_a, _b, _siteA, _siteB, _topology);
    }

}

public sealed class SiteVersionRoutingTests(SiteVersionDeployment deployment) : IClassFixture<SiteVersionDeployment>
{
    private const string ParisOwa = SiteVersionDeployment.ParisOwa;
    private const string RedmondOwa = SiteVersionDeployment.RedmondOwa;

    private TestTopology _topology => deployment.Topology;

    private HttpClient _a => deployment.A;

    private HttpClient _b => deployment.B;

    /// <summary>
    /// gateway, mailbox, family request (method path [headers]), expected: "proxy:&lt;server&gt;" or "&lt;status&gt; &lt;Location or body fragment&gt;".
    /// </summary>
    public static TheoryData<string, string, string, string, string> Cells() => new()
    {
        // this site, same or newer version
        { "A", "alice", "OWA", "GET /owa/alice@contoso.com/", "proxy:mbx1" },
        { "A", "alice", "EWS", "POST /EWS/Exchange.asmx", "proxy:mbx1" },
        { "A", "alice", "Autodiscover", "POST /autodiscover/autodiscover.xml", "proxy:mbx1" },
        // another site with an external URL for the family, host differs from the request's
        { "A", "paris", "OWA", "GET /owa/paris@contoso.com/?path=/mail", $"302 {ParisOwa[..^4]}/owa/paris@contoso.com/?path=/mail" },
        { "A", "paris", "EWS", "POST /EWS/Exchange.asmx", "proxy:mbx3" },
        { "A", "paris", "ActiveSync", "POST /Microsoft-Server-ActiveSync?Cmd=Sync", "proxy:mbx3" },
        { "A", "paris", "Autodiscover", "POST /autodiscover/autodiscover.xml", "proxy:mbx3" },
        // another site, no external URL for this family
        { "A", "paris", "ECP", "GET /ecp/paris@contoso.com/", "proxy:mbx3" },
        { "A", "paris", "MAPI", "POST /mapi/emsmdb/?smtpAddress=paris@contoso.com", "proxy:mbx3" },
        // older version (2010): front end with an external URL → 302; without → proxy to the front end
        { "A", "legacy10a", "OWA", "GET /owa/legacy10a@contoso.com/", "302 https://mail2010.contoso.com/owa/legacy10a@contoso.com/" },
        { "A", "legacy10b", "OWA", "GET /owa/legacy10b@contoso.com/", "proxy:fe2010-b" },
        { "A", "legacy10a", "EWS", "POST /EWS/Exchange.asmx", "proxy:fe2010-a" },
        { "A", "legacy10a", "ActiveSync", "POST /Microsoft-Server-ActiveSync?Cmd=Ping", "proxy:fe2010-a" },
        { "A", "legacy10a", "Autodiscover", "POST /autodiscover/autodiscover.xml", "proxy:ex2010-a" },
        // much older version (2007) with a legacy namespace
        { "A", "legacy07", "OWA", "GET /owa/legacy07@contoso.com/?ae=Folder", "302 https://legacy.contoso.com/owa/legacy07@contoso.com/?ae=Folder" },
        { "A", "legacy07", "ECP", "GET /ecp/legacy07@contoso.com/", "302 https://legacy.contoso.com/ecp/legacy07@contoso.com/" },
        { "A", "legacy07", "ActiveSync", "POST /Microsoft-Server-ActiveSync?Cmd=Sync", "proxy:fe2007" },
        { "A", "legacy07", "RPC", "RPC_IN_DATA /rpc/rpcproxy.dll?{guid}@contoso.com:6001", "proxy:fe2007" },
        { "A", "legacy07", "EWS", "POST /EWS/Exchange.asmx", "404 https://legacy.contoso.com/EWS/Exchange.asmx" },
        { "A", "legacy07", "Autodiscover", "POST /autodiscover/autodiscover.xml", "proxy:fe2007" },
        // the cloud (hybrid)
        { "A", "cloudy", "OWA", "GET /owa/cloudy@contoso.com/", "302 https://outlook.office.com/owa/contoso.com" },
        { "A", "cloudy", "ECP", "GET /ecp/cloudy@contoso.com/", "302 https://outlook.office.com/owa/contoso.com" },
        { "A", "cloudy", "ActiveSync", "POST /Microsoft-Server-ActiveSync?Cmd=Sync", "451 https://outlook.office365.com/Microsoft-Server-ActiveSync" },
        { "A", "cloudy", "EWS", "POST /EWS/Exchange.asmx", "404 https://outlook.office365.com/EWS/Exchange.asmx" },
        { "A", "cloudy", "MAPI", "POST /mapi/emsmdb/?smtpAddress=cloudy@contoso.com", "404 https://outlook.office365.com/mapi/emsmdb/" },
        { "A", "cloudy", "Autodiscover POX", "POST /autodiscover/autodiscover.xml", "200 <RedirectAddr>cloudy@contoso.mail.onmicrosoft.com</RedirectAddr>" },
        { "A", "cloudy", "Autodiscover JSON", "GET /autodiscover/autodiscover.json/v1.0/cloudy@contoso.com?Protocol=Ews", "302 https://autodiscover-s.outlook.com/autodiscover/autodiscover.json/v1.0/cloudy%40contoso.mail.onmicrosoft.com?Protocol=Ews" },
        // the second site's gateway: its own mailboxes are local, site 1's are redirected or proxied across
        { "B", "paris", "OWA", "GET /owa/paris@contoso.com/", "proxy:mbx3" },
        { "B", "alice", "OWA", "GET /owa/alice@contoso.com/", $"302 {RedmondOwa[..^4]}/owa/alice@contoso.com/" },
        { "B", "alice", "ECP", "GET /ecp/alice@contoso.com/", "302 https://mail.contoso.com/ecp/alice@contoso.com/" },
        { "B", "alice", "EWS", "POST /EWS/Exchange.asmx", "proxy:mbx1" },
        { "B", "legacy10b", "EWS", "POST /EWS/Exchange.asmx", "proxy:fe2010-b" },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Each_cell_of_the_decision_table(string gateway, string mailbox, string family, string request, string expected)
    {
        var client = gateway == "A" ? _a : _b;
        using var message = Build(mailbox, request);
        using var response = await client.SendAsync(message);
        var body = await response.Content.ReadAsStringAsync();
        var explained = await client.ExplainAsync(message, "alice@contoso.com", _topology.Directory.Mailbox("alice@contoso.com"));
        var context = $"{family} for {mailbox} via {gateway}: {(int)response.StatusCode} {response.Headers.Location} {body}; explained {explained}";
        if (expected.StartsWith("proxy:", StringComparison.Ordinal))
        {
            Assert.True(response.StatusCode == HttpStatusCode.OK, context);
            Assert.Contains($"\"server\": \"{expected[6..]}.contoso.com\"", body, StringComparison.Ordinal);
            Assert.Equal($"{expected[6..]}.contoso.com", explained.Target);
            Assert.Contains(explained.Decision, new[] { "Proxy", "ProxyAcrossSites" });
            return;
        }
        Assert.True(explained.Status == (int)response.StatusCode, context);
        var (status, detail) = (int.Parse(expected[..3], System.Globalization.CultureInfo.InvariantCulture), expected[4..]);
        Assert.True(status == (int)response.StatusCode, context);
        switch (status)
        {
            case 302:
                Assert.Equal(detail, response.Headers.Location?.OriginalString);
                Assert.Equal(detail, explained.Target);
                break;
            case 451:
                Assert.Equal(detail, response.Headers.GetValues("X-MS-Location").Single());
                break;
            default:
                Assert.Contains(detail, body, StringComparison.Ordinal);
                break;
        }
    }

    [Fact]
    public async Task No_healthy_front_end_of_the_needed_version_is_a_404_saying_so()
    {
        // Its own deployment: this test stops a front end.
        var own = new SiteVersionDeployment();
        await own.InitializeAsync();
        await using var cleanup = own;
        var topology = own.Topology;
        await using var probing = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Site"] = "Site1",
            ["Gateway:Routing:LegacyNamespace"] = "https://legacy.contoso.com",
            ["Gateway:Backend:Health:ActiveInterval"] = "00:00:01",
        });
        using var client = probing.CreateClient();
        await topology.StopServerAsync("fe2007.contoso.com");
        var status = await RequestPath.RequestPathTests.PollAsync(
            async () =>
            {
                using var response = await client.SendAsync(Build(topology, "legacy07", "POST /Microsoft-Server-ActiveSync?Cmd=Sync"));
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            },
            r => r.StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Contains("No healthy front end of version 8.3", status.Body, StringComparison.Ordinal);

        // OWA does not need the front end: it still goes to the legacy namespace.
        using var owa = await client.SendAsync(Build(topology, "legacy07", "GET /owa/legacy07@contoso.com/"));
        Assert.Equal(HttpStatusCode.Found, owa.StatusCode);
    }

    [Fact]
    public async Task Cross_site_OWA_is_proxied_when_the_request_already_uses_that_sites_host()
    {
        using var message = Build("paris", "GET /owa/paris@contoso.com/");
        message.Headers.Host = "mail.paris.contoso.com";
        using var response = await _a.SendAsync(message);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("mbx3.contoso.com", (await response.ReadAnswerAsync()).Server);
    }

    [Theory]
    [InlineData("GET /owa/paris@contoso.com//evil.example.net/x")]
    [InlineData("GET /owa/paris@contoso.com/%2F%2Fevil.example.net")]
    [InlineData("GET /owa/paris@contoso.com/@evil.example.net")]
    [InlineData("GET /owa/paris@contoso.com/?next=https://evil.example.net")]
    public async Task Redirects_never_leave_the_configured_hosts(string request)
    {
        using var message = Build("paris", request);
        message.Headers.Host = "evil.example.net";
        using var response = await _a.SendAsync(message);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var location = response.Headers.Location!;
        Assert.True(location.IsAbsoluteUri);
        Assert.Equal("mail.paris.contoso.com", location.Host);
        Assert.DoesNotContain('\r', location.OriginalString);
        Assert.DoesNotContain('\n', location.OriginalString);
    }

    /// <summary>Issue 15: a line break in the decoded path is refused (400) before routing, so no redirect is built from it.</summary>
    [Fact]
    public async Task A_path_carrying_an_encoded_line_break_is_refused_before_any_redirect()
    {
        using var message = Build("paris", "GET /owa/paris@contoso.com/%0D%0ALocation:%20https://evil.example.net/");
        message.Headers.Host = "evil.example.net";
        using var response = await _a.SendAsync(message);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.False(response.Headers.Contains("Location"));
    }

    [Fact]
    public async Task A_hint_naming_an_outside_domain_cannot_produce_a_redirect()
    {
        using var message = Build("alice", "GET /owa/paris@evil.example.net/");
        using var response = await _a.SendAsync(message);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    private HttpRequestMessage Build(string mailbox, string request) => Build(_topology, mailbox, request);

    private static HttpRequestMessage Build(TestTopology topology, string mailbox, string request)
    {
        var parts = request.Split(' ', 2);
        var target = topology.Directory.Mailbox($"{mailbox}@contoso.com");
        var message = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1].Replace("{guid}", target.Guid.ToString(), StringComparison.Ordinal));
        message.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox("alice@contoso.com"));
        if (!parts[1].Contains($"{mailbox}@contoso.com", StringComparison.Ordinal) && !parts[1].Contains("{guid}", StringComparison.Ordinal))
        {
            message.Headers.Add("X-AnchorMailbox", target.Address);
        }
        if (parts[0] is "POST" or "RPC_IN_DATA")
        {
            message.Content = new StringContent("<request/>");
        }
        return message;
    }
}
