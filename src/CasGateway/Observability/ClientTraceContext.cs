using System.Diagnostics;
using Microsoft.Extensions.Primitives;

namespace CasGateway.Observability;

/// <summary>
/// The client's W3C trace context when the gateway itself does not trace (<c>Gateway:Telemetry:Tracing</c>): no span is
/// made, a sampled <c>traceparent</c> is passed on to the backend as the gateway rebuilt it from the parsed value (with
/// the client's <c>tracestate</c> when that is short printable text), and every other trace header a client sent is
/// dropped — nothing unparsed reaches a backend.
/// </summary>
internal static class ClientTraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    private const int MaxTraceState = 512;

    /// <summary>Every header a propagator reads or writes: W3C, baggage, the legacy hierarchical ones, the current propagator's.</summary>
    private static readonly string[] PropagatorFields =
        [.. DistributedContextPropagator.Current.Fields.Union([TraceParent, TraceState, "baggage", "Request-Id", "Correlation-Context"], StringComparer.OrdinalIgnoreCase)];

    /// <summary>The trace context of a single well-formed <c>traceparent</c>; false when absent or malformed.</summary>
    public static bool TryParse(StringValues traceParent, out ActivityContext context)
    {
        context = default;
        return traceParent.Count == 1 && ActivityContext.TryParse(traceParent[0], null, isRemote: true, out context);
    }

    /// <summary>The trace id for the protocol log: the request's span's, else the client's, else a new one.</summary>
    public static ActivityTraceId TraceIdOf(Activity? span, StringValues traceParent)
        => span?.TraceId ?? (TryParse(traceParent, out var client) ? client.TraceId : ActivityTraceId.CreateRandom());

    /// <summary>Replaces the trace headers copied from the client by its sampled trace context, if it sent one.</summary>
    public static void PassOn(IHeaderDictionary client, System.Net.Http.Headers.HttpRequestHeaders backend)
    {
        foreach (var field in PropagatorFields)
        {
            backend.Remove(field);
        }
        if (!TryParse(client[TraceParent], out var context) || (context.TraceFlags & ActivityTraceFlags.Recorded) == 0)
        {
            return;
        }
        backend.TryAddWithoutValidation(TraceParent, $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-01");
        if (client[TraceState] is { Count: 1 } state && IsShortText(state[0]))
        {
            backend.TryAddWithoutValidation(TraceState, state[0]);
        }
    }

    private static bool IsShortText(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxTraceState)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }
        return true;
    }
}
