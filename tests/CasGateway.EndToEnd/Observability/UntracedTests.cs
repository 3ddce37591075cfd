using System.Diagnostics;
using System.Net;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace CasGateway.EndToEnd.Observability;

/// <summary>
/// Issue 23: without a trace exporter the gateway makes no span and no trace header of its own; a client's sampled
/// W3C trace context still reaches the backend (rebuilt from the parsed header), anything else a client put in trace
/// headers does not, and the log line carries the client's trace id (a new one when the client sent none).
/// </summary>
public sealed class UntracedTests : IAsyncLifetime
{
    private readonly CapturingLogSink _log = new();
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(
            _topology,
            new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Information" },
            services => services.AddSingleton<ILogEventSink>(_log));
        // Trace headers exactly as written here: the client's own propagation must not replace them.
        _client = new HttpClient(new SocketsHttpHandler
        {
            ActivityHeadersPropagator = null,
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        })
        { BaseAddress = _gateway.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    private async Task<(DemoBackend.DemoAnswer Answer, object? LoggedTraceId)> SendAsync(string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value));
        }
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.ReadAnswerAsync();
        var logged = await _log.WaitForProtocolEventAsync(e => (string?)CapturingLogSink.Value(e, "UrlStem") == path);
        Assert.Equal(logged.TraceId?.ToHexString(), CapturingLogSink.Value(logged, "TraceId"));
        return (answer, CapturingLogSink.Value(logged, "TraceId"));
    }

    [Fact]
    public async Task A_sampled_client_trace_reaches_the_backend_unchanged_and_the_log_line()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var span = ActivitySpanId.CreateRandom();
        var (answer, logged) = await SendAsync("/owa/sampled/",
            ("traceparent", $"00-{traceId.ToHexString()}-{span.ToHexString()}-01"), ("tracestate", "vendor=abc"), ("baggage", "user=alice"));

        Assert.Equal($"00-{traceId.ToHexString()}-{span.ToHexString()}-01", answer.TraceParent);
        Assert.Equal("vendor=abc", answer.TraceState);
        Assert.Empty(answer.OtherTraceHeaders!);
        Assert.Equal(traceId.ToHexString(), logged);
    }

    [Fact]
    public async Task An_unsampled_client_trace_is_logged_but_not_passed_on()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var (answer, logged) = await SendAsync("/owa/unsampled/",
            ("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-00"), ("tracestate", "vendor=abc"));

        Assert.Equal("", answer.TraceParent);
        Assert.Equal("", answer.TraceState);
        Assert.Equal(traceId.ToHexString(), logged);
    }

    [Theory]
    [InlineData("/owa/malformed/", "00-not-a-trace-01")]
    [InlineData("/owa/zero/", "00-00000000000000000000000000000000-0000000000000000-01")]
    [InlineData("/owa/long-state/", null)]
    public async Task Malformed_or_absent_trace_headers_stop_at_the_gateway_and_the_log_line_gets_a_new_trace_id(string path, string? traceParent)
    {
        var headers = new List<(string, string)> { ("tracestate", new string('a', 600)), ("Request-Id", "|abc.1."), ("Correlation-Context", "k=v") };
        if (traceParent is not null)
        {
            headers.Add(("traceparent", traceParent));
        }
        var (answer, logged) = await SendAsync(path, [.. headers]);

        Assert.Equal("", answer.TraceParent);
        Assert.Equal("", answer.TraceState);
        Assert.Empty(answer.OtherTraceHeaders!);
        Assert.Matches("^[0-9a-f]{32}$", (string)logged!);
        Assert.NotEqual("00000000000000000000000000000000", logged);
    }
}
