using System.Globalization;

namespace CasGateway.Routing;

/// <summary>
/// The gateway's own short answers (refusals and errors): a status, the error code and the request id as plain text
/// marked <c>nosniff</c>, and a log line with the full reason. The body never echoes what the client sent: the
/// reason (which may quote a hint, an address or a server name) goes only to the log, found by the request id.
/// </summary>
public static partial class GatewayResponses
{
    /// <param name="publicReason">
    /// The reason is the gateway's own text, built from configuration alone (a routing verdict telling the client
    /// where to go), and is written to the body too; never set for a reason that quotes anything the client sent.
    /// </param>
    public static Task WriteAsync(HttpContext context, int status, string errorCode, string message, TimeSpan? retryAfter = null, bool publicReason = false)
    {
        var routing = context.Features.Get<RoutingDecision>();
        if (routing is not null)
        {
            routing.ErrorCode = errorCode;
        }
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("CasGateway.Refusals");
        LogRefusal(logger, status, errorCode, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString(), message, context.TraceIdentifier);
        context.Response.StatusCode = status;
        if (retryAfter is { } delay)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return context.Response.WriteAsync(publicReason
            ? string.Create(CultureInfo.InvariantCulture, $"{status} {errorCode}: {message} (request {context.TraceIdentifier})\n")
            : string.Create(CultureInfo.InvariantCulture, $"{status} {errorCode} (request {context.TraceIdentifier})\n"));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Status} {ErrorCode}: {Method} {Path} from {ClientIp}: {Reason} (request {RequestId})")]
    private static partial void LogRefusal(ILogger logger, int status, string errorCode, string method, PathString path, string? clientIp, string reason, string requestId);
}
