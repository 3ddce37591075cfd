using System.Diagnostics;
using CasGateway.Observability;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Serilog.Core;

namespace CasGateway.EndToEnd.Observability;

/// <summary>
/// Issue 9: W3C trace context from the client reaches the backend and the log line; the spans nest. Tracing is on
/// (<c>Gateway:Telemetry:Tracing</c>): the spans go to an in-memory exporter instead of an OTLP collector.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private readonly CapturingLogSink _log = new();
    private readonly SpanList _spans = new();
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(
            _topology,
            new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information", ["Gateway:Telemetry:Tracing"] = "On" },
            services =>
            {
                services.AddSingleton<ILogEventSink>(_log);
                services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
            });
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    /// <summary>
    /// Sends as a traced client would: inside the client's own span, whose context the HTTP client puts in the
    /// <c>traceparent</c> header (W3C) — the header a caller sets by hand is replaced the same way.
    /// </summary>
    private async Task<DemoBackend.DemoAnswer> SendAsync(string path, ActivityTraceId traceId, ActivitySpanId clientSpan)
    {
        using var caller = new Activity("test-client").SetParentId(traceId, clientSpan, ActivityTraceFlags.Recorded).Start();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await _client.SendAsync(request);
        Assert.Contains(traceId.ToHexString(), request.Headers.GetValues("traceparent").Single(), StringComparison.Ordinal);
        return await response.ReadAnswerAsync();
    }

    [Fact]
    public async Task Client_trace_id_reaches_the_backend_and_the_log_line()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        var answer = await SendAsync("/owa/", traceId, clientSpan);

        var received = answer.TraceParent.Split('-');
        Assert.Equal(4, received.Length);
        Assert.Equal(traceId.ToHexString(), received[1]);
        Assert.NotEqual(clientSpan.ToHexString(), received[2]);
        var logged = await _log.WaitForProtocolEventAsync(e => (string?)CapturingLogSink.Value(e, "UrlStem") == "/owa/");
        Assert.Equal(traceId.ToHexString(), CapturingLogSink.Value(logged, "TraceId"));
    }

    [Fact]
    public async Task Request_span_has_locate_and_forward_children_and_the_backend_continues_the_forward_span()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var answer = await SendAsync("/EWS/Exchange.asmx", traceId, ActivitySpanId.CreateRandom());
        // The request span ends just after the response has completed: wait until it is exported.
        static bool RequestSpanEnded(Activity[] spans)
            => spans.FirstOrDefault(s => s.OperationName == "Locate") is { } locate && spans.Any(s => s.SpanId == locate.ParentSpanId);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var trace = _spans.Of(traceId);
        while (!RequestSpanEnded(trace) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            _gateway.GetRequiredService<TracerProvider>().ForceFlush();
            trace = _spans.Of(traceId);
        }

        // The test client and the demo backend run in this process too, so their spans are here as well:
        // test client → gateway request → (Locate, forward) → backend request.
        var locate = Assert.Single(trace, s => s.Source.Name == GatewayTracing.SourceName && s.OperationName == "Locate");
        var request = Assert.Single(trace, s => s.SpanId == locate.ParentSpanId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Contains(trace, s => s.Kind == ActivityKind.Client && s.SpanId == request.ParentSpanId);
        var forward = Assert.Single(trace, s => s.Kind == ActivityKind.Client && s.ParentSpanId == request.SpanId);
        Assert.Single(trace, s => s.Kind == ActivityKind.Server && s.ParentSpanId == forward.SpanId);
        Assert.Equal(false, locate.GetTagItem("casgateway.locate.cache_hit"));
        Assert.True(locate.StartTimeUtc <= forward.StartTimeUtc);
        Assert.Equal(forward.SpanId.ToHexString(), answer.TraceParent.Split('-')[2]);
    }

    /// <summary>The exporter's target: spans end on many threads.</summary>
    private sealed class SpanList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public Activity[] Of(ActivityTraceId traceId)
        {
            lock (_items)
            {
                return [.. _items.Where(s => s.TraceId == traceId)];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item)
        {
            lock (_items)
            {
                return _items.Contains(item);
            }
        }

        public void CopyTo(Activity[] array, int arrayIndex)
        {
            lock (_items)
            {
                _items.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator()
        {
            lock (_items)
            {
                return _items.ToList().GetEnumerator();
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
