using System.Collections.Concurrent;
using System.Net.Sockets;
using CasGateway.Observability;
using CircuitState = CasGateway.Observability.CircuitState;
using Polly;
using Polly.CircuitBreaker;

namespace CasGateway.Forwarding;

/// <summary>
/// One Polly circuit breaker per mailbox server, around connecting: once a server keeps refusing or timing out,
/// requests to it fail at once (<see cref="BrokenCircuitException"/>) until a trial call succeeds.
/// </summary>
public sealed class BackendCircuitHandler(BackendHealthOptions options, TimeProvider clock, GatewayMetrics metrics) : DelegatingHandler
{
    // A typed pipeline per server, built once: the breaker runs on HttpResponseMessage directly (no bridge to an
    // untyped strategy) and outside a registry (no execution tracking for reloads), so a request passes through
    // the breaker's own async steps only.
    private readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> _breakers = new();
    private Func<string, ResiliencePipeline<HttpResponseMessage>>? _build;

    /// <summary>True when the failure means the request never reached the server (safe to send elsewhere).</summary>
    public static bool NeverReachedServer(Exception? exception) => exception switch
    {
        BrokenCircuitException => true,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } => true,
        HttpRequestException { InnerException: SocketException } => true,
        TaskCanceledException { InnerException: TimeoutException } => true,
        _ => false,
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var breaker = _breakers.GetOrAdd(request.RequestUri!.Authority, _build ??= Build);
        return await breaker.ExecuteAsync(
            static (state, ct) => new ValueTask<HttpResponseMessage>(state.Handler.SendCoreAsync(state.Request, ct)),
            (Handler: this, Request: request),
            cancellationToken);
    }

    private ResiliencePipeline<HttpResponseMessage> Build(string server) => new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = clock }
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            ShouldHandle = new PredicateBuilder<HttpResponseMessage>().Handle<Exception>(NeverReachedServer),
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
            OnOpened = _ => Report(server, CircuitState.Open),
            OnHalfOpened = _ => Report(server, CircuitState.HalfOpen),
            OnClosed = _ => Report(server, CircuitState.Closed),
        })
        .Build();

    private ValueTask Report(string server, CircuitState state)
    {
        metrics.SetCircuitState(server, state);
        return ValueTask.CompletedTask;
    }

    private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => base.SendAsync(request, cancellationToken);
}
