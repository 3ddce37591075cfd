using CasGateway.Routing;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace CasGateway.Health;

/// <summary>
/// Applies component states to requests, ahead of authentication and the forwarder: the management port serves
/// probes only; an Inactive component is refused with 503; once a drain's grace period is over responses close
/// their connection; long-lived requests are registered so the drain can end them, and one ended before its
/// response started is answered 503 so the client reconnects elsewhere.
/// </summary>
public sealed partial class HealthMiddleware(
    RequestDelegate next,
    DrainCoordinator drain,
    LongLivedRequestRegistry longLived,
    ILogger<HealthMiddleware> logger)
{
    private static readonly TimeSpan InactiveRetryAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DrainedRetryAfter = TimeSpan.FromSeconds(1);

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var own = endpoint?.Metadata.GetMetadata<HealthEndpointMetadata>();
        var management = context.Features.Get<ManagementConnectionFeature>() is not null;
        if (management)
        {
            if (own is not { OnManagementPort: true })
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next(context);
            return;
        }

        var request = context.Features.GetRequiredFeature<IGatewayRequestFeature>();
        var family = request.Family;
        var component = request.Component;
        var phase = drain.PhaseOf(component);
        if (phase is DrainPhase.Drained or DrainPhase.Inactive)
        {
            CloseAfterResponse(context);
        }
        if (own is not null)
        {
            // Probes and the admin endpoint answer whatever the state: that is how a node is put back.
            await next(context);
            return;
        }
        if (phase == DrainPhase.Inactive)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ComponentInactive",
                $"{component} is out of service on this node.", InactiveRetryAfter);
            return;
        }
        var kind = family is { } longFamily ? LongLivedRequests.KindOf(context, longFamily) : null;
        if (kind is null)
        {
            await next(context);
            return;
        }
        if (phase == DrainPhase.Drained)
        {
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ComponentDrained",
                $"{component} is draining on this node; reconnect.", DrainedRetryAfter);
            return;
        }
        await ForwardLongLivedAsync(context, component, kind);
    }

    private async Task ForwardLongLivedAsync(HttpContext context, ServerComponent component, string kind)
    {
        var requestAborted = context.RequestAborted;
        using var registration = longLived.Register(component, kind, requestAborted);
        context.RequestAborted = registration.Token;
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (registration.EndedByDrain && !requestAborted.IsCancellationRequested)
        {
            // Ended by the drain while authenticating or forwarding: answered below.
        }
        finally
        {
            context.RequestAborted = requestAborted;
        }
        if (!registration.EndedByDrain || requestAborted.IsCancellationRequested)
        {
            return;
        }
        LogEnded(logger, kind, component, context.Connection.RemoteIpAddress?.ToString(), context.Response.HasStarted);
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
            CloseAfterResponse(context);
            await GatewayResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ComponentDrained",
                $"{component} is draining on this node; reconnect.", DrainedRetryAfter);
        }
    }

    /// <summary>HTTP/1.x: <c>Connection: close</c> on this response. HTTP/2 and later: GOAWAY once in-flight streams end.</summary>
    private static void CloseAfterResponse(HttpContext context)
    {
        if (HttpProtocol.IsHttp10(context.Request.Protocol) || HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            context.Response.OnStarting(static state =>
            {
                ((HttpResponse)state).Headers.Connection = "close";
                return Task.CompletedTask;
            }, context.Response);
        }
        else
        {
            context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain ended a long-lived {Kind} request ({Component}) from {ClientIp}; response started: {Started}")]
    private static partial void LogEnded(ILogger logger, string kind, ServerComponent component, string? clientIp, bool started);
}

/// <summary>Set on connections of the management port, which serves probes only.</summary>
public sealed class ManagementConnectionFeature
{
    public static readonly ManagementConnectionFeature Instance = new();

    private ManagementConnectionFeature()
    {
    }
}
