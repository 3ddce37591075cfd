using System.ComponentModel.DataAnnotations;
using System.Net;
using OpenTelemetry.Exporter;

namespace CasGateway.Observability;

/// <summary><c>Gateway:Telemetry</c>: where metrics and traces go.</summary>
public sealed class TelemetryOptions : IValidatableObject
{
    public const string Section = "Gateway:Telemetry";

    /// <summary>An OpenTelemetry collector to push traces and metrics to; unset = no OTLP export.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>Grpc</c> (usually port 4317) or <c>HttpProtobuf</c> (usually 4318).</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;

    /// <summary>Path of the Prometheus scrape endpoint on the client port.</summary>
    [Required]
    [RegularExpression("^/[A-Za-z0-9/_.-]{1,100}$", ErrorMessage = "PrometheusPath must be a plain absolute path such as /metrics.")]
    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>Networks (CIDR) besides loopback that may scrape; everyone else gets 404.</summary>
    public List<string> ScrapeAllowedNetworks { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var network in ScrapeAllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                yield return new ValidationResult($"'{network}' is not a network in CIDR form (e.g. 10.0.0.0/8).", [nameof(ScrapeAllowedNetworks)]);
            }
        }
        if (OtlpEndpoint is { } endpoint && !(endpoint.IsAbsoluteUri && endpoint.Scheme is "http" or "https"))
        {
            yield return new ValidationResult($"'{endpoint}' is not an http(s) URL.", [nameof(OtlpEndpoint)]);
        }
    }
}
