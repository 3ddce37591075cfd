using CasGateway.Anchoring;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>A request described for <see cref="RouteExplainer"/>: what a client would send, and who it is.</summary>
public sealed record ExplainRequest(string Method, string Url, Dictionary<string, string>? Headers, string? User);

/// <summary>Why a request would go where it goes — the route it matches and the plan it gets, without forwarding anything.</summary>
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
    string? Detail)
{
    /// <summary>The answer for a request that matched <paramref name="route"/> and got <paramref name="plan"/>.</summary>
    public static ExplainAnswer Of(string? route, RoutePlan plan) => new(
        route,
        plan.Family.ToString(),
        plan.HintSource,
        plan.Anchor?.Address,
        plan.MailboxAddress,
        plan.Database,
        plan.ActiveServer?.Fqdn,
        plan.ActiveServer?.Site,
        plan.ActiveServer?.Version.ToString(),
        plan.Rule,
        plan.Action.ToString(),
        plan.Server?.Fqdn ?? plan.Answer?.Location ?? plan.Answer?.MsLocation ?? plan.Answer?.RedirectAddress
            ?? (plan.Source == RouteSource.AnyServer ? "any healthy server of this site" : null),
        plan.Answer?.Status,
        plan.Answer?.Message);
}

/// <summary>
/// Answers "why did this request go there" in one call. The described request is matched by the app's own endpoint
/// routing (paths, hosts, methods and headers as YARP's routes declare them), its facts are read as for a real
/// request, and it is planned by the same <see cref="RequestRouter"/> and <see cref="RoutePlanner"/> with the live
/// server health — so the answer cannot drift from what a real request gets. The backend cookie is not followed:
/// the answer is what a fresh request gets.
/// </summary>
public sealed class RouteExplainer(IServiceProvider services, AnchorResolver anchors, RequestRouter router, IProxyStateLookup proxyState)
{
    private RequestDelegate _match = static _ => Task.CompletedTask;

    /// <summary>Set once at start-up (<see cref="RoutingStage.MapExplain"/>): the app's endpoint matching.</summary>
    internal void MatchWith(RequestDelegate match) => _match = match;

    public async Task<ExplainAnswer> ExplainAsync(ExplainRequest described, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(described.Url, UriKind.Absolute, out var url))
        {
            return Refused(null, StatusCodes.Status400BadRequest, "Url must be absolute, e.g. https://mail.contoso.com/owa/.");
        }
        await using var scope = services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var request = context.Request;
        request.Method = described.Method;
        request.Scheme = url.Scheme;
        request.Host = new HostString(url.Authority);
        request.Path = PathString.FromUriComponent(url.AbsolutePath);
        request.QueryString = QueryString.FromUriComponent(url.Query);
        foreach (var (name, value) in described.Headers ?? [])
        {
            // The URL's authority is the request's Host.
            if (!name.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Append(name, value);
            }
        }
        await _match(context);
        var endpoint = context.GetEndpoint();
        var route = endpoint?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId;
        if (GatewayRequestFeature.For(endpoint).Family is not { } family)
        {
            return Refused(route, StatusCodes.Status404NotFound, "No protocol family route matches this request.");
        }
        var facts = RouteFacts.From(request, family, anchors, described.User, Guid.Empty);
        var destinations = proxyState.TryGetCluster(RouteMetadata.MailboxCluster, out var cluster) ? cluster.DestinationsState.AllDestinations : [];
        var plan = await router.PlanAsync(facts, request: null, new ServerHealth(destinations), cancellationToken);
        return ExplainAnswer.Of(route, plan);
    }

    private static ExplainAnswer Refused(string? route, int status, string detail)
        => new(route, null, HintSources.None, null, null, null, null, null, null, null, nameof(RouteAction.Reject), null, status, detail);
}
