using System.Globalization;
using CasGateway.Location;
using CasGateway.Observability;

namespace CasGateway.Routing;

/// <summary>
/// The gateway's own short answers (refusals and errors): a status, the error code and the request id as plain text
/// marked <c>nosniff</c>, and a log line with the full reason. The body never echoes what the client sent: the
/// reason (which may quote a hint, an address or a server name) goes only to the log, found by the request id.
/// </summary>
public static partial class GatewayResponses
{
    /// <summary>The <c>Retry-After</c> of answers about a passing condition (locator down, server unavailable).</summary>
    public static readonly TimeSpan RetryShortly = TimeSpan.FromSeconds(5);

    /// <param name="publicReason">
    /// The reason is the gateway's own text, built from configuration alone (a routing verdict telling the client
    /// where to go), and is written to the body too; never set for a reason that quotes anything the client sent.
    /// </param>
    public static Task WriteAsync(HttpContext context, int status, string errorCode, string message, TimeSpan? retryAfter = null, bool publicReason = false)
    {
        if (context.Features.Get<RequestRecord>() is { } record)
        {
            record.ErrorCode = errorCode;
        }
        context.RequestServices.GetRequiredService<Observability.GatewayMetrics>().RecordRefusal(status, errorCode);
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

    /// <summary>The plan's server cannot be forwarded to: not (or no longer) a destination, or unreachable after the retries.</summary>
    public static Task ServerUnavailableAsync(HttpContext context, MailboxServer server)
        => WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ServerUnavailable", $"Mailbox server {server.Fqdn} is not available.", RetryShortly);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Status} {ErrorCode}: {Method} {Path} from {ClientIp}: {Reason} (request {RequestId})")]
    private static partial void LogRefusal(ILogger logger, int status, string errorCode, string method, PathString path, string? clientIp, string reason, string requestId);
}
