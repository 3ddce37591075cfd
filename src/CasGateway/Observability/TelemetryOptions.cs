using System.ComponentModel.DataAnnotations;
using OpenTelemetry.Exporter;

namespace CasGateway.Observability;

/// <summary><c>Gateway:Telemetry</c>: where metrics and traces go.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Gateway:Telemetry";

    /// <summary>An OpenTelemetry collector to push traces and metrics to; unset = no OTLP export.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>Grpc</c> (usually port 4317) or <c>HttpProtobuf</c> (usually 4318).</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;

    /// <summary>
    /// Whether the gateway makes spans: <c>Auto</c> (default) when <see cref="OtlpEndpoint"/> is set, <c>On</c> always
    /// (for an exporter added in code), <c>Off</c> never. Without tracing no span, no <c>Activity</c> and no trace
    /// header is made per request; a client's sampled W3C <c>traceparent</c> is still passed on to the backend.
    /// </summary>
    public TracingMode Tracing { get; set; } = TracingMode.Auto;

    /// <summary>Whether spans are made (see <see cref="Tracing"/>).</summary>
    public bool TracingEnabled() => Tracing == TracingMode.On || (Tracing == TracingMode.Auto && OtlpEndpoint is not null);

    /// <summary>Path of the Prometheus scrape endpoint on the client port.</summary>
    [Required]
    [RegularExpression("^/[A-Za-z0-9/_.-]{1,100}$", ErrorMessage = "PrometheusPath must be a plain absolute path such as /metrics.")]
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>Networks (CIDR) besides loopback that may scrape; everyone else gets 404.</summary>
    public List<string> ScrapeAllowedNetworks { get; set; } = [];
}

/// <summary><c>Gateway:Telemetry:Tracing</c>.</summary>
public enum TracingMode
{
    /// <summary>Traces when an OTLP collector is configured.</summary>
    Auto,

    On,

    Off,
}
