using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using CasGateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CasGateway.EndToEnd.Observability;

/// <summary>Issue 9: with <c>Gateway:Telemetry:OtlpEndpoint</c> set, spans and metrics are pushed to the collector.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Spans_and_metrics_reach_an_otlp_http_collector()
    {
        var received = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path, context.Request.ContentType ?? "", body.ToArray()));
            return Results.Ok();
        });
        await collector.StartAsync();

        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Telemetry:OtlpEndpoint"] = collector.Urls.First(),
            ["Gateway:Telemetry:OtlpProtocol"] = "HttpProtobuf",
        });
        using var client = gateway.CreateClient();
        var traceId = ActivityTraceId.CreateRandom();
        using (new Activity("test-client").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
            request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox("alice@contoso.com"));
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        var traceBytes = Convert.FromHexString(traceId.ToHexString());
        var requestsMetric = Encoding.UTF8.GetBytes("casgateway.requests");
        bool Arrived() => received.Any(r => r.Path == "/v1/traces" && r.Body.AsSpan().IndexOf(traceBytes) >= 0)
            && received.Any(r => r.Path == "/v1/metrics" && r.Body.AsSpan().IndexOf(requestsMetric) >= 0);
        while (!Arrived() && DateTime.UtcNow < deadline)
        {
            gateway.GetRequiredService<TracerProvider>().ForceFlush();
            gateway.GetRequiredService<MeterProvider>().ForceFlush();
            await Task.Delay(100);
        }
        Assert.True(Arrived(), $"Collector received: {string.Join(", ", received.Select(r => $"{r.Path} ({r.Body.Length} bytes)"))}");
        Assert.All(received, r => Assert.Equal("application/x-protobuf", r.ContentType));
    }
}
