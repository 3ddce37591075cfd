using CasGateway.Configuration;
using CasGateway.Location;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// Executes the request's current <see cref="RoutePlan"/>: writes the gateway's own answer (redirect or refusal), or
/// narrows YARP's destinations to the plan's server (or to this site's healthy servers) for the forwarder.
/// </summary>
public sealed class ProxyStep(MailboxLocationCache locations, IOptions<GatewayOptions> gateway)
{
    private readonly string? _site = gateway.Value.Site;

    public Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var plan = context.Features.GetRequiredFeature<RoutePlanFeature>().Plan;
        if (plan.Answer is { } answer)
        {
            return WriteAsync(context, answer, plan.Rule is not null);
        }
        var proxy = context.GetReverseProxyFeature();
        if (plan.Server is not { } server)
        {
            proxy.AvailableDestinations = SiteDestinations(proxy.AvailableDestinations);
            return proxy.AvailableDestinations.Count == 0
                ? GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "NoHealthyServer", "No healthy mailbox server in this site.", GatewayResponses.RetryShortly)
                : next();
        }
        if (new ServerHealth(proxy.AllDestinations).Find(server.Fqdn) is not { } destination)
        {
            return GatewayResponses.ServerUnavailableAsync(context, server);
        }
        proxy.AvailableDestinations = destination;
        return next();
    }

    /// <param name="fromDecisionTable">A rule of the site/version table answered: its message is built from configuration
    /// only (versions, configured URLs) and tells the client where it is served, so the body carries it too.</param>
    private static Task WriteAsync(HttpContext context, RouteAnswer answer, bool fromDecisionTable)
    {
        if (answer.ErrorCode is { } code)
        {
            return GatewayResponses.WriteAsync(context, answer.Status, code, answer.Message!, answer.RetryLater ? GatewayResponses.RetryShortly : null, publicReason: fromDecisionTable);
        }
        var response = context.Response;
        if (answer.RedirectAddress is { } address)
        {
            // POX Autodiscover: the client is told which address to ask about instead.
            response.ContentType = "text/xml; charset=utf-8";
            return response.WriteAsync(RoutingRules.AutodiscoverRedirectXml(address));
        }
        response.StatusCode = answer.Status;
        if (answer.Location is { } location)
        {
            response.Headers.Location = location;
        }
        if (answer.MsLocation is { } msLocation)
        {
            response.Headers["X-MS-Location"] = msLocation;
        }
        return Task.CompletedTask;
    }

    private IReadOnlyList<DestinationState> SiteDestinations(IReadOnlyList<DestinationState> healthy)
    {
        if (_site is null)
        {
            return healthy;
        }
        var inSite = new List<DestinationState>(healthy.Count);
        foreach (var destination in healthy)
        {
            if (locations.FindServer(destination.DestinationId) is { } server && string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase))
            {
                inSite.Add(destination);
            }
        }
        return inSite;
    }
}
