using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Tests.Routing;

/// <summary>
/// A directory and a gateway configuration for planning without any server: Site1 (the gateway's) holds mbx1,
/// ex2010-a with its front end fe2010-a (external URL), ex2007 with fe2007; Site2 holds mbx3 (OWA external URL),
/// ex2010-b with fe2010-b (no URL). Plus a cloud mailbox. The same shape as the end-to-end decision-table topology.
/// </summary>
internal sealed class PlannerWorld
{
    public const string Host = "mail.contoso.com";
    public static readonly Guid CallerGuid = Guid.Parse("a11ce000-0000-4000-8000-000000000001");

    private readonly Dictionary<string, MailboxServer> _servers = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, MailboxLocation> _mailboxes = new(StringComparer.OrdinalIgnoreCase);

    public PlannerWorld(string? site = "Site1", bool legacyNamespace = true)
    {
        Add("mbx1", "Site1", "15.2.1544.4");
        Add("mbx3", "Site2", "15.2.1544.4");
        Add("ex2010-a", "Site1", "14.3.513.0");
        Add("fe2010-a", "Site1", "14.3.513.0", new Uri("https://mail2010.contoso.com/"));
        Add("ex2010-b", "Site2", "14.3.513.0");
        Add("fe2010-b", "Site2", "14.3.513.0", frontEnd: true);
        Add("ex2007", "Site1", "8.3.83.6");
        Add("fe2007", "Site1", "8.3.83.6", frontEnd: true);
        Mailbox("alice", "mbx1");
        Mailbox("paris", "mbx3");
        Mailbox("legacy10a", "ex2010-a");
        Mailbox("legacy10b", "ex2010-b");
        Mailbox("legacy07", "ex2007");
        var cloudy = new Mailbox(Guid.NewGuid(), "cloudy@contoso.com", [], null, null) { CloudTargetAddress = "cloudy@contoso.mail.onmicrosoft.com" };
        _mailboxes["cloudy"] = new MailboxLocation(cloudy, null);

        var gateway = Options.Create(new GatewayOptions { Site = site, NodeName = "cas1.contoso.com" });
        var routing = new SiteRoutingOptions { LegacyNamespace = legacyNamespace ? "https://legacy.contoso.com" : null };
        routing.Sites["Site2"] = new SiteUrls { ExternalUrls = { [ProtocolFamily.Owa] = new Uri("https://mail.paris.contoso.com/owa") } };
        routing.Cloud.OwaUrlByDomain["fabrikam.com"] = new Uri("https://outlook.office.com/owa/fabrikam.example");
        Planner = new RoutePlanner(new RoutingRules(new FixedOptions<SiteRoutingOptions>(routing), gateway), gateway);
        Destinations = [.. _servers.Values.Select(s => new DestinationState(s.Fqdn))];
    }

    public RoutePlanner Planner { get; }

    public AnchorResolver Anchors { get; } = new();

    public IReadOnlyList<MailboxServer> Servers => [.. _servers.Values];

    /// <summary>YARP's destinations, one per server, all healthy until <see cref="MarkUnhealthy"/>.</summary>
    public List<DestinationState> Destinations { get; }

    public MailboxServer Server(string name) => _servers[name];

    public MailboxLocation Location(string mailbox) => _mailboxes[mailbox];

    public void MarkUnhealthy(string server) => Destinations.Single(d => d.DestinationId == Server(server).Fqdn).Health.Active = DestinationHealth.Unhealthy;

    /// <summary>A request as a client sends it: "METHOD /path?query", optional headers, and the caller's address.</summary>
    public RouteFacts Facts(ProtocolFamily family, string request, string? caller = "alice@contoso.com", string host = Host, params (string Name, string Value)[] headers)
    {
        var parts = request.Split(' ', 2);
        var question = parts[1].IndexOf('?', StringComparison.Ordinal);
        var context = new DefaultHttpContext();
        context.Request.Method = parts[0];
        context.Request.Scheme = "https";
        context.Request.Host = new HostString(host);
        context.Request.Path = question < 0 ? parts[1] : parts[1][..question];
        context.Request.QueryString = question < 0 ? QueryString.Empty : new QueryString(parts[1][question..]);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }
        return RouteFacts.From(context.Request, family, Anchors, caller, caller is null ? Guid.Empty : CallerGuid);
    }

    /// <summary>Plans with the locator having found <paramref name="mailbox"/> (or nothing, for null).</summary>
    public RoutePlan Plan(in RouteFacts facts, string? mailbox)
    {
        var lookup = !RoutePlanner.NeedsLookup(facts) ? MailboxLookup.NotNeeded
            : mailbox is null ? new MailboxLookup(LookupResult.NotFound)
            : new MailboxLookup(LookupResult.Found, Location(mailbox));
        return Plan(facts, lookup);
    }

    public RoutePlan Plan(in RouteFacts facts, in MailboxLookup lookup) => Planner.Plan(facts, lookup, Servers, new ServerHealth(Destinations));

    /// <summary>"Action Rule target": the server's short name, else the answer's status and where it sends the client.</summary>
    public static string Describe(RoutePlan plan) => plan.Answer is { } answer
        ? $"{plan.Action} {plan.Rule ?? answer.ErrorCode} {answer.Status} {answer.Location ?? answer.MsLocation ?? answer.RedirectAddress}".TrimEnd()
        : $"{plan.Action} {plan.Rule} {plan.Server?.Fqdn.Split('.')[0] ?? "any"}";

    private void Add(string name, string site, string version, Uri? externalUrl = null, bool frontEnd = false)
        => _servers[name] = new MailboxServer($"{name}.contoso.com", site, Version.Parse(version), new Uri($"https://{name}.contoso.com/"))
        {
            IsFrontEnd = frontEnd || externalUrl is not null,
            ExternalUrl = externalUrl,
        };

    private void Mailbox(string name, string server)
    {
        var database = new MailboxDatabase("DB-" + name, Guid.NewGuid(), _servers[server], [_servers[server]]);
        _mailboxes[name] = new MailboxLocation(new Mailbox(Guid.NewGuid(), $"{name}@contoso.com", [], database.Name, null), database);
    }

    private sealed class FixedOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
