using System.Globalization;
using CasGateway.Location;
using CasGateway.Observability;

namespace CasGateway.Routing;

/// <summary>The gateway's own short answers (refusals and errors): a status, a plain-text reason and a log line.</summary>
public static partial class GatewayResponses
{
    /// <summary>The <c>Retry-After</c> of answers about a passing condition (locator down, server unavailable).</summary>
    public static readonly TimeSpan RetryShortly = TimeSpan.FromSeconds(5);

    public static Task WriteAsync(HttpContext context, int status, string errorCode, string message, TimeSpan? retryAfter = null)
    {
        if (context.Features.Get<RequestRecord>() is { } record)
        {
            record.ErrorCode = errorCode;
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

    /// <summary>The plan's server cannot be forwarded to: not (or no longer) a destination, or unreachable after the retries.</summary>
    public static Task ServerUnavailableAsync(HttpContext context, MailboxServer server)
        => WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "ServerUnavailable", $"Mailbox server {server.Fqdn} is not available.", RetryShortly);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Status} {ErrorCode}: {Method} {Path} from {ClientIp}: {Reason}")]
    private static partial void LogRefusal(ILogger logger, int status, string errorCode, string method, PathString path, string? clientIp, string reason);
}
