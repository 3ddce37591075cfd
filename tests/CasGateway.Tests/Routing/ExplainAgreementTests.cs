using System.Collections.Concurrent;
using CasGateway.Routing;
using CasGateway.Tests.Pipeline;
using CasGateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Tests.Routing;

/// <summary>
/// <c>explain</c> and real routing agree on every decision-table row: each row is sent through the real gateway
/// (in-process, real backends) and described to <c>POST /admin/explain</c>; the plan the real request executed,
/// printed as explain prints it, must equal explain's answer — and must be what the client got.
/// </summary>
/// <summary>The two-site deployment of the decision-table rows, and the gateway recording each request's plan.</summary>
public sealed class ExplainAgreementDeployment : IAsyncLifetime
{
    public const string RowHeader = "X-Test-Row";

    public ConcurrentDictionary<string, (string? Route, RoutePlan Plan)> Executed { get; } = new();

    public TestTopology Topology { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    private WebApplicationFactory<Program> _factory = null!;

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        await Topology.AddSiteVersionWorldAsync();
        var settings = Topology.GatewaySettings();
        settings["Gateway:Site"] = "Site1";
        settings["Gateway:Routing:Sites:Site2:ExternalUrls:Owa"] = "https://mail.paris.contoso.com/owa";
        settings["Gateway:Routing:LegacyNamespace"] = "https://legacy.contoso.com";
        settings["Gateway:Health:AdminUsers:0"] = "alice@contoso.com";
        // These rows check the proxy path's plan; the Autodiscover answers the gateway gives itself are tested on their own.
        settings["Gateway:Autodiscover:Enabled"] = "false";
        // A second OWA route for one host only, ahead of the appsettings routes.
        settings["ReverseProxy:Routes:owa-partner:Order"] = "-1";
        settings["ReverseProxy:Routes:owa-partner:Match:Path"] = "/owa/{**rest}";
        settings["ReverseProxy:Routes:owa-partner:Match:Hosts:0"] = "partner.contoso.com";
        settings["ReverseProxy:Routes:owa-partner:Metadata:Family"] = "Owa";
        _factory = new GatewayFactory(settings).WithWebHostBuilder(builder => builder.ConfigureServices(services =>
            services.AddSingleton<IStartupFilter>(new PlanCapture(Executed))));
        Client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        if (Topology is not null)
        {
            await Topology.DisposeAsync();
        }
    }

    /// <summary>Records, per test request, the route it matched and the last plan it executed.</summary>
    private sealed class PlanCapture(ConcurrentDictionary<string, (string?, RoutePlan)> executed) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, following) =>
            {
                await following(context);
                if (context.Request.Headers[RowHeader] is [{ } id] && context.Features.Get<RoutePlanFeature>() is { } routing)
                {
                    executed[id] = (context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId, routing.Plan);
                }
            });
            next(app);
        };
    }
}

public sealed class ExplainAgreementTests(ExplainAgreementDeployment deployment) : IClassFixture<ExplainAgreementDeployment>
{
    private const string RowHeader = ExplainAgreementDeployment.RowHeader;

    private TestTopology _topology => deployment.Topology;

    private HttpClient _client => deployment.Client;

    private ConcurrentDictionary<string, (string? Route, RoutePlan Plan)> _executed => deployment.Executed;

    private static readonly string[] Requests =
    [
        "OWA GET /owa/{mailbox}/?path=/mail",
        "ECP GET /ecp/{mailbox}/",
        "EWS POST /EWS/Exchange.asmx",
        "ActiveSync POST /Microsoft-Server-ActiveSync?Cmd=Sync",
        "MAPI POST /mapi/emsmdb/?smtpAddress={mailbox}",
        "RPC RPC_IN_DATA /rpc/rpcproxy.dll?{guid}@contoso.com:6001",
        "AutodiscoverPOX POST /autodiscover/autodiscover.xml",
        "AutodiscoverJSON GET /autodiscover/autodiscover.json/v1.0/{mailbox}?Protocol=Ews",
        "OAB GET /OAB/",
    ];

    /// <summary>Every family for every kind of mailbox: this site, another site, 2010 (both sites), 2007, the cloud, unknown.</summary>
    public static TheoryData<string, string> Rows()
    {
        var rows = new TheoryData<string, string>();
        foreach (var mailbox in new[] { "alice", "paris", "legacy10a", "legacy10b", "legacy07", "cloudy", "ghost" })
        {
            foreach (var request in Requests)
            {
                rows.Add(mailbox, request);
            }
        }
        rows.Add("alice", "PowerShell POST /powershell/?TargetServer=mbx2.contoso.com");
        rows.Add("alice", "PowerShell POST /powershell/?TargetServer=evil.example.net");
        rows.Add("alice", "MAPI POST /mapi/emsmdb/");
        rows.Add("alice", "RPC RPC_IN_DATA /rpc/rpcproxy.dll");
        rows.Add("alice", "EWS GET /EWS/Exchange.asmx?bad={bad}");
        return rows;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Explain_prints_the_plan_real_routing_executed(string mailbox, string row)
    {
        var parts = row.Split(' ', 3);
        var address = $"{mailbox}@contoso.com";
        var guid = mailbox == "ghost" ? Guid.NewGuid() : _topology.Directory.Mailbox(address).Guid;
        var target = parts[2].Replace("{mailbox}", address, StringComparison.Ordinal).Replace("{guid}", guid.ToString(), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(parts[1]), target.Replace("?bad={bad}", "", StringComparison.Ordinal));
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.Add("X-AnchorMailbox", target.Contains("{bad}", StringComparison.Ordinal) ? "../etc/passwd" : address);
        var id = Guid.NewGuid().ToString();
        request.Headers.Add(RowHeader, id);
        if (parts[1] is "POST" or "RPC_IN_DATA")
        {
            request.Content = new StringContent("<request/>");
        }

        using var response = await _client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var explained = await _client.ExplainAsync(request, "alice@contoso.com", _topology.Directory.Mailbox("alice@contoso.com"));

        Assert.True(_executed.TryGetValue(id, out var executed), $"{row} for {mailbox}: no plan executed ({(int)response.StatusCode} {body})");
        Assert.Equal(ExplainAnswer.Of(executed.Route, executed.Plan), explained);
        var plan = executed.Plan;
        if (plan.Answer is { } answer)
        {
            Assert.Equal(answer.Status, (int)response.StatusCode);
            Assert.Equal(answer.Location, response.Headers.Location?.OriginalString);
        }
        else
        {
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Contains($"\"server\": \"{plan.Server!.Fqdn}\"", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Explain_matches_routes_with_their_hosts_as_real_routing_does()
    {
        var admin = _topology.Directory.Mailbox("alice@contoso.com");
        using var plain = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        using var partner = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        partner.Headers.Host = "partner.contoso.com";
        foreach (var request in new[] { plain, partner })
        {
            request.Headers.Authorization = TestGateway.Basic(admin);
            request.Headers.Add(RowHeader, request == plain ? "plain" : "partner");
            using var response = await _client.SendAsync(request);
            Assert.Equal(200, (int)response.StatusCode);
        }

        Assert.NotEqual("owa-partner", _executed["plain"].Route);
        Assert.Equal("owa-partner", _executed["partner"].Route);
        Assert.Equal(_executed["plain"].Route, (await _client.ExplainAsync(plain, "alice@contoso.com", admin)).Route);
        Assert.Equal(_executed["partner"].Route, (await _client.ExplainAsync(partner, "alice@contoso.com", admin)).Route);
    }
}
