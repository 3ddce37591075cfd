using System.Net.Sockets;
using CasGateway.Observability;
using CircuitState = CasGateway.Observability.CircuitState;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;

namespace CasGateway.Forwarding;

/// <summary>
/// One Polly circuit breaker per mailbox server, around connecting: once a server keeps refusing or timing out,
/// requests to it fail at once (<see cref="BrokenCircuitException"/>) until a trial call succeeds.
/// </summary>
public sealed class BackendCircuitHandler(BackendHealthOptions options, TimeProvider clock, GatewayMetrics metrics) : DelegatingHandler
{
    private readonly ResiliencePipelineRegistry<string> _breakers = new();
    private Action<ResiliencePipelineBuilder, ConfigureBuilderContext<string>>? _configure;

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
        var breaker = _breakers.GetOrAddPipeline(request.RequestUri!.Authority, _configure ??= Configure);
        return await breaker.ExecuteAsync(
            static (state, ct) => new ValueTask<HttpResponseMessage>(state.Handler.SendCoreAsync(state.Request, ct)),
            (Handler: this, Request: request),
            cancellationToken);
    }

    /// <summary>Builds the breaker of the server named by the registry's key, once per server (one delegate, so a request allocates none).</summary>
    private void Configure(ResiliencePipelineBuilder builder, ConfigureBuilderContext<string> context)
    {
        var server = context.PipelineKey;
        builder.TimeProvider = clock;
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(NeverReachedServer),
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
            OnOpened = _ => Report(server, CircuitState.Open),
            OnHalfOpened = _ => Report(server, CircuitState.HalfOpen),
            OnClosed = _ => Report(server, CircuitState.Closed),
        });
    }

    private ValueTask Report(string server, CircuitState state)
    {
        metrics.SetCircuitState(server, state);
        return ValueTask.CompletedTask;
    }

    private Task<HttpResponseMessage> SendCoreAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        => base.SendAsync(request, cancellationToken);
}
