using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.AspNetCore.Routing.Template;

namespace CasGateway.Routing;

/// <summary>A request described for <see cref="RouteExplainer"/>: what a client would send, and who it is.</summary>
public sealed record ExplainRequest(string Method, string Url, Dictionary<string, string>? Headers, string? User);

/// <summary>Why a request would go where it goes — every stage's answer, without forwarding anything.</summary>
public sealed record ExplainAnswer(
    string? Route,
    string? Family,
    string HintSource,
    string? Anchor,
    string? Mailbox,
    string? Database,
    string? ActiveServer,
    string? ServerSite,
    string? ServerVersion,
    string? Rule,
    string Decision,
    string? Target,
    int? Status,
    string? Detail);

/// <summary>
/// Answers "why did this request go there" in one call: route → family → hint → anchor → mailbox → database →
/// active server → site/version rule → decision, with the same anchor rules, locator and decision table as real
/// requests. The backend cookie is not consulted: the answer is what a fresh request gets.
/// </summary>
public sealed class RouteExplainer(IConfiguration configuration, AnchorResolver anchors, MailboxLocationCache locations, RoutingRules rules)
{
    public async Task<ExplainAnswer> ExplainAsync(ExplainRequest described, Func<MailboxServer, bool> isHealthy, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(described.Url, UriKind.Absolute, out var url))
        {
            return Refused(null, null, "Invalid", 400, "Url must be absolute, e.g. https://mail.contoso.com/owa/.");
        }
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = described.Method;
        request.Scheme = url.Scheme;
        request.Host = new HostString(url.Authority);
        request.Path = PathString.FromUriComponent(url.AbsolutePath);
        request.QueryString = QueryString.FromUriComponent(url.Query);
        foreach (var (name, value) in described.Headers ?? [])
        {
            request.Headers.Append(name, value);
        }

        var (route, family) = MatchRoute(request.Path);
        if (family is null)
        {
            return Refused(route, null, "None", 404, "No protocol family route matches this path.");
        }
        var outcome = anchors.Resolve(request, family.Value);
        switch (outcome.Status)
        {
            case AnchorStatus.BadRequest:
                return Refused(route, family, outcome.HintSource, 400, outcome.Problem);
            case AnchorStatus.NotFound:
                return Refused(route, family, outcome.HintSource, 404, outcome.Problem);
            case AnchorStatus.AnyServer:
                return new ExplainAnswer(route, family.ToString(), outcome.HintSource, null, null, null, null, null, null,
                    "AnyServer", nameof(RouteAction.Proxy), "any healthy server of this site", null, null);
            case AnchorStatus.Server:
                var named = locations.FindServer(outcome.Server);
                return named is null
                    ? Refused(route, family, outcome.HintSource, 400, $"'{outcome.Server}' is not a known server.")
                    : new ExplainAnswer(route, family.ToString(), outcome.HintSource, null, null, null, named.Fqdn, named.Site, named.Version.ToString(),
                        "TargetServer", nameof(RouteAction.Proxy), named.Fqdn, null, null);
        }
        AnchorMailbox anchor;
        if (outcome.Status == AnchorStatus.Hint)
        {
            anchor = outcome.Anchor!.Value;
        }
        else if (described.User is null || !AnchorMailbox.TryParse(described.User, out var user))
        {
            return Refused(route, family, outcome.HintSource, 400, "No hint in the request: give the user it is sent by.");
        }
        else
        {
            anchor = user.Value;
        }
        MailboxLocation? location;
        try
        {
            (location, _) = await locations.LocateAsync(anchor, cancellationToken);
        }
        catch (LocatorUnavailableException ex)
        {
            return Refused(route, family, outcome.HintSource, 503, "The mailbox directory cannot be reached: " + ex.Message) with { Anchor = anchor.Address };
        }
        if (location is null)
        {
            return Refused(route, family, outcome.HintSource, 404, $"No mailbox matches '{anchor.Address}'.") with { Anchor = anchor.Address };
        }
        var verdict = rules.Decide(family.Value, request, location, locations.Store.Servers, isHealthy);
        return new ExplainAnswer(
            route,
            family.ToString(),
            outcome.HintSource,
            anchor.Address,
            location.Mailbox.PrimarySmtpAddress,
            location.Database?.Name,
            location.Server?.Fqdn,
            location.Server?.Site,
            location.Server?.Version.ToString(),
            verdict.Rule,
            verdict.Action.ToString(),
            verdict.Server?.Fqdn ?? verdict.Location ?? verdict.MsLocation ?? verdict.RedirectAddress,
            verdict.Status == 0 ? null : verdict.Status,
            verdict.Message);
    }

    /// <summary>The first family route (by <c>Order</c>, then as written) whose path pattern matches.</summary>
    private (string? Route, ProtocolFamily? Family) MatchRoute(PathString path)
    {
        var routes = configuration.GetSection("ReverseProxy:Routes").GetChildren()
            .Select((section, index) => (Section: section, Index: index, Order: int.TryParse(section["Order"], out var order) ? order : 0))
            .OrderBy(r => r.Order).ThenBy(r => r.Index);
        foreach (var (section, _, _) in routes)
        {
            if (section["Match:Path"] is not { } pattern)
            {
                continue;
            }
            var matcher = new TemplateMatcher(TemplateParser.Parse(pattern.TrimStart('/')), new RouteValueDictionary());
            if (matcher.TryMatch(path, new RouteValueDictionary()) && Enum.TryParse<ProtocolFamily>(section["Metadata:Family"], ignoreCase: true, out var family))
            {
                return (section.Key, family);
            }
        }
        return (null, null);
    }

    private static ExplainAnswer Refused(string? route, ProtocolFamily? family, string hint, int status, string? detail)
        => new(route, family?.ToString(), hint, null, null, null, null, null, null, null, nameof(RouteAction.Reject), null, status, detail);
}
