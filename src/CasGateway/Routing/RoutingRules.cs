using System.Globalization;
using System.Security;
using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Routing;

/// <summary>One cell of the decision table: what to do, the rule's name, where to forward or what to answer.</summary>
public readonly record struct RouteVerdict(RouteAction Action, string Rule, MailboxServer? Server = null, RouteAnswer? Answer = null);

/// <summary>
/// The site/version decision table (docs/routing.md). Redirect targets come only from configuration and the
/// directory; from the request only its path and query are kept, escaped, so no hint can produce an open redirect.
/// </summary>
public sealed class RoutingRules(IOptionsMonitor<SiteRoutingOptions> options, IOptions<GatewayOptions> gateway)
{
    private const int Modern = 15;
    private const int Exchange2010 = 14;

    public RouteVerdict Decide(in RouteFacts request, MailboxLocation location, IReadOnlyList<MailboxServer> servers, ServerHealth health)
    {
        var family = request.Family;
        var settings = options.CurrentValue;
        if (location.IsCloud)
        {
            return Cloud(request, location.Mailbox, settings.Cloud);
        }
        var server = location.Server;
        var browser = family is ProtocolFamily.Owa or ProtocolFamily.Ecp;
        if (server.Version.Major >= Modern)
        {
            var site = gateway.Value.Site;
            if (site is null || string.Equals(server.Site, site, StringComparison.OrdinalIgnoreCase))
            {
                return new RouteVerdict(RouteAction.Proxy, "SameSite", server);
            }
            if (browser && settings.Sites.TryGetValue(server.Site, out var urls) && urls.ExternalUrls.TryGetValue(family, out var external)
                && !SameHost(external, request))
            {
                return Redirect("CrossSiteRedirect", external, request);
            }
            return new RouteVerdict(RouteAction.ProxyAcrossSites, "CrossSiteProxy", server);
        }

        if (server.Version.Major < Exchange2010 && settings.LegacyNamespace is { } legacyText)
        {
            var legacy = new Uri(legacyText);
            switch (family)
            {
                case ProtocolFamily.Owa or ProtocolFamily.Ecp:
                    return Redirect("LegacyNamespaceRedirect", legacy, request);
                case ProtocolFamily.ActiveSync or ProtocolFamily.Rpc or ProtocolFamily.Autodiscover:
                    break;
                default:
                    var url = new Uri(legacy, FamilyPath(family));
                    return Reject("LegacyNamespaceOnly", $"Mailbox is on Exchange {server.Version}; use the legacy URL {url}.");
            }
        }

        var frontEnd = FrontEndFor(server, servers, health);
        if (browser && frontEnd?.ExternalUrl is { } feUrl && !SameHost(feUrl, request))
        {
            return Redirect("LegacyFrontEndRedirect", feUrl, request);
        }
        if (family == ProtocolFamily.Autodiscover && server.Version.Major >= Exchange2010)
        {
            return new RouteVerdict(RouteAction.Proxy, "LegacyAutodiscover", server);
        }
        if (frontEnd is null)
        {
            return Reject("NoFrontEnd", string.Create(CultureInfo.InvariantCulture, $"No healthy front end of version {server.Version.Major}.{server.Version.Minor}."));
        }
        var across = gateway.Value.Site is { } mine && !string.Equals(frontEnd.Site, mine, StringComparison.OrdinalIgnoreCase);
        return new RouteVerdict(across ? RouteAction.ProxyAcrossSites : RouteAction.Proxy, "LegacyFrontEndProxy", frontEnd);
    }

    /// <summary>A healthy front end of the mailbox server's major version, in its site if one is there.</summary>
    private static MailboxServer? FrontEndFor(MailboxServer mailboxServer, IReadOnlyList<MailboxServer> servers, ServerHealth health)
    {
        MailboxServer? elsewhere = null;
        foreach (var candidate in servers)
        {
            if (!candidate.IsFrontEnd || candidate.Version.Major != mailboxServer.Version.Major || !health.IsHealthy(candidate))
            {
                continue;
            }
            if (string.Equals(candidate.Site, mailboxServer.Site, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
            elsewhere ??= candidate;
        }
        return elsewhere;
    }

    private static RouteVerdict Cloud(in RouteFacts request, Mailbox mailbox, CloudOptions cloud)
    {
        var domain = mailbox.PrimarySmtpAddress[(mailbox.PrimarySmtpAddress.IndexOf('@') + 1)..];
        var target = mailbox.CloudTargetAddress!;
        switch (request.Family)
        {
            case ProtocolFamily.Owa or ProtocolFamily.Ecp:
                var owa = cloud.OwaUrlByDomain.TryGetValue(domain, out var perDomain)
                    ? perDomain.ToString()
                    : cloud.OwaUrl.Replace("{domain}", Uri.EscapeDataString(domain), StringComparison.Ordinal);
                return new RouteVerdict(RouteAction.Redirect, "CloudOwaRedirect", Answer: new RouteAnswer(StatusCodes.Status302Found, null, null) { Location = owa });
            case ProtocolFamily.ActiveSync:
                return new RouteVerdict(RouteAction.Redirect, "CloudActiveSyncRedirect", Answer: new RouteAnswer(451, null, "The mailbox has moved to the cloud.")
                {
                    MsLocation = new Uri(new Uri(cloud.Endpoint), "/Microsoft-Server-ActiveSync").ToString(),
                });
            case ProtocolFamily.Autodiscover when request.Path.Value?.EndsWith(".xml", StringComparison.OrdinalIgnoreCase) == true:
                // POX: a 200 answer that tells the client which address to ask about instead (redirectAddr).
                return new RouteVerdict(RouteAction.Redirect, "CloudAutodiscoverRedirect", Answer: new RouteAnswer(StatusCodes.Status200OK, null, null) { RedirectAddress = target });
            case ProtocolFamily.Autodiscover:
                return new RouteVerdict(RouteAction.Redirect, "CloudAutodiscoverRedirect", Answer: new RouteAnswer(StatusCodes.Status302Found, null, null)
                {
                    Location = new Uri(new Uri(cloud.AutodiscoverEndpoint), "/autodiscover/autodiscover.json/v1.0/" + Uri.EscapeDataString(target)) + request.Query.ToUriComponent(),
                });
            default:
                var endpoint = new Uri(new Uri(cloud.Endpoint), FamilyPath(request.Family));
                return Reject("CloudNotHere", $"The mailbox is hosted in the cloud; use {endpoint}.");
        }
    }

    private static RouteVerdict Reject(string rule, string message)
        => new(RouteAction.Reject, rule, Answer: new RouteAnswer(StatusCodes.Status404NotFound, rule, message));

    private static RouteVerdict Redirect(string rule, Uri baseUrl, in RouteFacts request)
    {
        var location = new UriBuilder(baseUrl.Scheme, baseUrl.Host, baseUrl.Port).Uri.GetLeftPart(UriPartial.Authority)
            + request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.Query.ToUriComponent();
        return new RouteVerdict(RouteAction.Redirect, rule, Answer: new RouteAnswer(StatusCodes.Status302Found, null, null) { Location = location });
    }

    private static bool SameHost(Uri url, in RouteFacts request) => string.Equals(url.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase);

    private static string FamilyPath(ProtocolFamily family) => family switch
    {
        ProtocolFamily.Ews => "/EWS/Exchange.asmx",
        ProtocolFamily.Mapi => "/mapi/emsmdb/",
        ProtocolFamily.Oab => "/OAB/",
        ProtocolFamily.PowerShell => "/powershell/",
        ProtocolFamily.Rpc => "/rpc/rpcproxy.dll",
        ProtocolFamily.ActiveSync => "/Microsoft-Server-ActiveSync",
        ProtocolFamily.Autodiscover => "/autodiscover/autodiscover.xml",
        ProtocolFamily.Ecp => "/ecp/",
        _ => "/owa/",
    };

    /// <summary>The POX Autodiscover redirect answer (<c>redirectAddr</c>) for a cloud mailbox.</summary>
    public static string AutodiscoverRedirectXml(string address) =>
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        + "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
        + "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
        + "    <Account>\n      <Action>redirectAddr</Action>\n      <RedirectAddr>" + SecurityElement.Escape(address) + "</RedirectAddr>\n    </Account>\n"
        + "  </Response>\n</Autodiscover>\n";
}
