using System.Diagnostics;

namespace CasGateway.Observability;

/// <summary>
/// What the protocol log measures of one request besides the routing plan: timestamps of the forward, the
/// backend's status and the body byte counts. Kept as a request feature and, for the HTTP client's measurements,
/// as the ambient record of the request's async flow.
/// </summary>
internal sealed class RequestRecord(long started, DateTimeOffset startedAt, Activity? activity)
{
    private static readonly AsyncLocal<RequestRecord?> Ambient = new();

    /// <summary>The record of the request whose code is running, if any.</summary>
    public static RequestRecord? Current
    {
        get => Ambient.Value;
        set => Ambient.Value = value;
    }

    public long Started { get; } = started;

    public DateTimeOffset StartedAt { get; } = startedAt;

    /// <summary>The request's server span (its trace id goes in the log line).</summary>
    public Activity? Activity { get; } = activity;

    /// <summary>When the forwarder began the backend request (0: never forwarded).</summary>
    public long BackendSent { get; set; }

    /// <summary>When the backend's response headers arrived (0: none arrived).</summary>
    public long BackendFirstByte { get; set; }

    /// <summary>When the gateway's handling returned (the forward, if any, is over).</summary>
    public long HandlerEnded { get; set; }

    /// <summary>Time the backend request waited for a pooled or new connection.</summary>
    public TimeSpan BackendConnectWait { get; set; }

    public int? BackendStatus { get; set; }

    /// <summary>Why the gateway refused the request: set by every refusal it writes (GatewayResponses, the scrape gate).</summary>
    public string? ErrorCode { get; set; }

    public CountingRequestStream? RequestBody { get; set; }

    public CountingResponseBody? ResponseBody { get; set; }
}
