using CasGateway.Anchoring;

namespace CasGateway.Observability;

/// <summary><c>Gateway:ProtocolLog</c>: what the per-request log line may contain. Read per request (no restart).</summary>
public sealed class ProtocolLogOptions
{
    public const string Section = "Gateway:ProtocolLog";

    /// <summary>Log the query string of every request. Off by default: queries can hold secrets.</summary>
    public bool LogQuery { get; set; }

    /// <summary>Log the query string only for these families (e.g. <c>Mapi</c>, <c>Rpc</c>).</summary>
    public List<ProtocolFamily> LogQueryFamilies { get; set; } = [];

    public bool KeepsQuery(ProtocolFamily? family) => LogQuery || (family is { } f && LogQueryFamilies.Contains(f));
}
