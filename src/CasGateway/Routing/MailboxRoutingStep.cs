using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Location;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// The proxy-pipeline step between authentication and forwarding: anchor → locate → keep only the destination of
/// the server holding the active copy. Everything that cannot be routed is answered here, before any backend.
/// </summary>
public sealed class MailboxRoutingStep(AnchorResolver anchors, IMailboxLocator locator)
{
    private static readonly TimeSpan LocatorRetryAfter = TimeSpan.FromSeconds(5);

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.GetReverseProxyFeature();
        if (!RouteMetadata.TryGetFamily(proxy.Route.Config, out var family))
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "NoFamily", "Not a protocol family this gateway serves.");
            return;
        }
        var routing = new RoutingDecision { Family = family };
        context.Features.Set(routing);
        routing.CallerAddress = GatewayClaims.AddressOf(context.User);
        routing.CallerMailboxGuid = GatewayClaims.MailboxGuidOf(context.User);

        var outcome = anchors.Resolve(context.Request, family);
        routing.HintSource = outcome.HintSource;
        AnchorMailbox anchor;
        switch (outcome.Status)
        {
            case AnchorStatus.BadRequest:
                await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "BadAnchor", outcome.Problem!);
                return;
            case AnchorStatus.NotFound:
                await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "NoAnchor", outcome.Problem!);
                return;
            case AnchorStatus.Hint:
                anchor = outcome.Anchor!.Value;
                break;
            default:
                if (routing.CallerAddress is null || !AnchorMailbox.TryParse(routing.CallerAddress, out var user))
                {
                    await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "NoUserAddress",
                        "The authenticated user has no mail address to route by; send X-AnchorMailbox.");
                    return;
                }
                anchor = user.Value;
                break;
        }
        routing.Anchor = anchor;

        MailboxLocation? location;
        try
        {
            location = await locator.LocateAsync(anchor, context.RequestAborted);
        }
        catch (LocatorUnavailableException ex)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "LocatorUnavailable",
                "The mailbox directory cannot be reached: " + ex.Message, LocatorRetryAfter);
            return;
        }
        if (location is null)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status404NotFound, "MailboxNotFound", $"No mailbox matches '{anchor.Address}'.");
            return;
        }
        routing.Location = location;
        if (routing.CallerMailboxGuid == Guid.Empty && outcome.Status == AnchorStatus.NoHint)
        {
            routing.CallerMailboxGuid = location.Mailbox.Guid;
        }

        var destination = FindDestination(proxy.AllDestinations, location.Server.Fqdn);
        if (destination is null)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ServerNotReady",
                $"Mailbox server {location.Server.Fqdn} is not available yet.", LocatorRetryAfter);
            return;
        }
        proxy.AvailableDestinations = destination;
        await next();
    }

    private static DestinationState? FindDestination(IReadOnlyList<DestinationState> destinations, string fqdn)
    {
        foreach (var destination in destinations)
        {
            if (string.Equals(destination.DestinationId, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return destination;
            }
        }
        return null;
    }
}
