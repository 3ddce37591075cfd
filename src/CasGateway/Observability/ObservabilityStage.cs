using CasGateway.Configuration;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog.Extensions.Logging;
using Yarp.ReverseProxy.Transforms.Builder;

namespace CasGateway.Observability;

public static class ObservabilityStage
{
    private const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";
    private const string HttpClientMeter = "System.Net.Http";

    /// <summary>
    /// The HTTP client instruments the dashboard reads. The others are not exported: <c>http.client.request.duration</c>
    /// (an OpenTelemetry lookup over seven tags per request) ends when the response headers arrive, as
    /// <c>casgateway.backend.time_to_first_byte</c> does; the time in the pool's queue reaches the protocol log through
    /// <see cref="BackendQueueListener"/>; connection lifetimes nobody reads.
    /// </summary>
    private static readonly string[] HttpClientInstruments = ["http.client.open_connections", "http.client.active_requests"];

    /// <summary>
    /// Serilog from the <c>Serilog</c> section (reloaded on change), the protocol log, the <c>CasGateway</c> meter
    /// and spans, OpenTelemetry with a Prometheus endpoint and, when <c>Gateway:Telemetry:OtlpEndpoint</c> is set,
    /// OTLP export. Tracing (<c>Gateway:Telemetry:Tracing</c>) is read at start.
    /// </summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<LogPipeline>();
        var telemetry = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new();
        var tracing = telemetry.TracingEnabled();
        services.AddSingleton<ILoggerFactory>(sp => new GatewayLoggerFactory(new SerilogLoggerFactory(sp.GetRequiredService<LogPipeline>().Logger), tracing));
        services.AddValidatedOptions<ProtocolLogOptions>(ProtocolLogOptions.Section);
        services.AddValidatedOptions<TelemetryOptions>(TelemetryOptions.Section);
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<ProtocolLogWriter>();
        services.AddSingleton<ScrapeGate>();
        services.AddSingleton<ITransformProvider, ForwardTimingTransforms>();
        services.AddHostedService<BackendQueueListener>();

        var node = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>()?.NodeName ?? Environment.MachineName;
        // This host's own meters only (several gateways can share a process, e.g. in tests); the HTTP client's
        // meter is process-wide, and its series carry the backend's address and port.
        builder.Metrics.EnableMetrics(GatewayMetrics.MeterName, null, null, MeterScope.Local);
        builder.Metrics.EnableMetrics(KestrelMeter, null, null, MeterScope.Local);
        foreach (var instrument in HttpClientInstruments)
        {
            builder.Metrics.EnableMetrics(HttpClientMeter, instrument, null, MeterScope.Global);
        }
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("CasGateway", serviceInstanceId: node));
        // Spans only when someone takes them: an ActivitySource listener alone makes every request build its spans.
        if (tracing)
        {
            otel.WithTracing(spans =>
            {
                spans.AddSource(GatewayTracing.SourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (telemetry.OtlpEndpoint is { } endpoint)
                {
                    spans.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpProtocol, "v1/traces"));
                }
            });
        }
        otel.WithMetrics(metrics =>
        {
            metrics.AddPrometheusExporter();
            if (telemetry.OtlpEndpoint is { } endpoint)
            {
                metrics.AddOtlpExporter(o => Otlp(o, endpoint, telemetry.OtlpProtocol, "v1/metrics"));
            }
        });
        return builder;
    }

    /// <summary>The protocol log around everything else: register first.</summary>
    public static WebApplication UseProtocolLog(this WebApplication app)
    {
        app.UseMiddleware<ProtocolLogMiddleware>();
        return app;
    }

    /// <summary>The Prometheus scrape endpoint: anonymous, loopback and allowed networks only.</summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        var path = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusPath;
        var gate = app.Services.GetRequiredService<ScrapeGate>();
        app.MapPrometheusScrapingEndpoint(path, null, branch => branch.Use(gate.InvokeAsync), null).AllowAnonymous();
        return app;
    }

    /// <summary>gRPC takes the collector's address as is; HTTP/protobuf needs each signal's path.</summary>
    private static void Otlp(OtlpExporterOptions options, Uri endpoint, OtlpExportProtocol protocol, string signalPath)
    {
        options.Protocol = protocol;
        options.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(endpoint, signalPath) : endpoint;
    }
}
