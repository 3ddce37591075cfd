using Serilog.Events;
using Serilog.Parsing;

namespace CasGateway.Observability;

/// <summary>
/// YARP logs every failed active health probe at Warning with the whole exception. When the mailbox server refused or
/// never took the connection (a server down or not listening), thirty lines of stack trace say nothing the exception's
/// message does not: such a failure becomes one line with the reason appended. Any other probe failure keeps its exception.
/// </summary>
internal static class ProbeFailureLines
{
    /// <summary>
    /// YARP's message (its <c>ActiveHealthCheckMonitor</c>); matched by text because the source context is added by
    /// the contextual logger's enricher, after this sees the event.
    /// </summary>
    private const string ProbeFailed = "Probing destination `{destinationId}` on cluster `{clusterId}` failed.";
    private static readonly MessageTemplateParser Parser = new();

    public static LogEvent Shorten(LogEvent logEvent)
    {
        if (logEvent.Exception is not HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError } failure
            || logEvent.MessageTemplate.Text != ProbeFailed)
        {
            return logEvent;
        }
        var properties = logEvent.Properties.Select(p => new LogEventProperty(p.Key, p.Value))
            .Append(new LogEventProperty("Reason", new ScalarValue(failure.Message)));
        return new LogEvent(logEvent.Timestamp, logEvent.Level, null, Parser.Parse(logEvent.MessageTemplate.Text + " {Reason}"), properties);
    }
}
