using BenchmarkDotNet.Attributes;
using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Micro;

/// <summary>
/// The routing decision for a located mailbox (<see cref="RoutePlanner.Plan"/>) and the request facts it starts
/// from (<see cref="RouteFacts.From(HttpRequest, ProtocolFamily, AnchorResolver, string?, Guid)"/>). Issue 23 goal:
/// nothing allocated on the hot path but the plan itself.
/// </summary>
[MemoryDiagnoser]
public class RoutePlannerBenchmarks
{
    private readonly AnchorResolver _anchors = new();
    private RoutePlanner _planner = null!;
    private HttpRequest _ews = null!;
    private HttpRequest _owa = null!;
    private RouteFacts _ewsFacts;
    private RouteFacts _owaFacts;
    private MailboxLookup _found;
    private IReadOnlyList<MailboxServer> _servers = null!;
    private ServerHealth _health;

    [GlobalSetup]
    public void Setup()
    {
        var gateway = Options.Create(new GatewayOptions { Site = "Site1" });
        _planner = new RoutePlanner(new RoutingRules(new FixedMonitor<SiteRoutingOptions>(new SiteRoutingOptions()), gateway), gateway);
        _ews = Request("POST", "/EWS/Exchange.asmx", ("X-AnchorMailbox", "alice@contoso.com"));
        _owa = Request("GET", "/owa/");
        _ewsFacts = RouteFacts.From(_ews, ProtocolFamily.Ews, _anchors, "bob@contoso.com", Guid.Empty);
        _owaFacts = RouteFacts.From(_owa, ProtocolFamily.Owa, _anchors, "alice@contoso.com", Guid.Empty);
        _found = new MailboxLookup(LookupResult.Found, Fixtures.Location(), FromCache: true, Latency: TimeSpan.FromTicks(3));
        _servers = [Fixtures.Server];
        _health = new ServerHealth([new DestinationState(Fixtures.Server.Fqdn)]);
    }

    /// <summary>EWS with an <c>X-AnchorMailbox</c> hint, found in the cache: same site, proxy.</summary>
    [Benchmark(Baseline = true)]
    public RoutePlan PlanEwsHint() => _planner.Plan(_ewsFacts, _found, _servers, _health);

    /// <summary>OWA routed by the caller's own address (no hint), found in the cache: same site, proxy.</summary>
    [Benchmark]
    public RoutePlan PlanOwaCaller() => _planner.Plan(_owaFacts, _found, _servers, _health);

    /// <summary>Reading a request's route facts: family's anchor rules, the caller's address, EWS affinity.</summary>
    [Benchmark]
    public RouteFacts FactsEwsHint() => RouteFacts.From(_ews, ProtocolFamily.Ews, _anchors, "bob@contoso.com", Guid.Empty);

    [Benchmark]
    public RouteFacts FactsOwaCaller() => RouteFacts.From(_owa, ProtocolFamily.Owa, _anchors, "alice@contoso.com", Guid.Empty);

    private static HttpRequest Request(string method, string path, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Host = new HostString("mail.contoso.com");
        context.Request.Path = path;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }
        return context.Request;
    }

    private sealed class FixedMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
