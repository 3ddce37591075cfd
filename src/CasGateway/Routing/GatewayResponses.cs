using System.Globalization;

namespace CasGateway.Routing;

/// <summary>The gateway's own short answers (refusals and errors): a status, a plain-text reason and a log line.</summary>
public static partial class GatewayResponses
{
    public static Task WriteAsync(HttpContext context, int status, string errorCode, string message, TimeSpan? retryAfter = null)
    {
        var routing = context.Features.Get<RoutingDecision>();
        if (routing is not null)
        {
            routing.ErrorCode = errorCode;
        }
        context.RequestServices.GetRequiredService<Observability.GatewayMetrics>().RecordRefusal(status, errorCode);
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CasGateway.Refusals");
        LogRefusal(logger, status, errorCode, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString(), message);
        context.Response.StatusCode = status;
        if (retryAfter is { } delay)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(status.ToString(CultureInfo.InvariantCulture) + " " + message + "\n");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Status} {ErrorCode}: {Method} {Path} from {ClientIp}: {Reason}")]
    private static partial void LogRefusal(ILogger logger, int status, string errorCode, string method, PathString path, string? clientIp, string reason);
}
