using System.Diagnostics.Metrics;

namespace CasGateway.Observability;

/// <summary>
/// Listens to the HTTP client's <c>http.client.request.time_in_queue</c>: how long a backend request waited for a
/// connection (a new TCP + TLS connection, or a free one when the pool is full). The measurement is taken on the
/// request's own async flow, so it lands in that request's record; a request that found an idle pooled connection
/// records none.
/// </summary>
internal sealed class BackendQueueListener : IHostedService, IDisposable
{
    private const string HttpMeter = "System.Net.Http";
    private const string TimeInQueue = "http.client.request.time_in_queue";
    private readonly MeterListener _listener = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == HttpMeter && instrument.Name == TimeInQueue)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (_, seconds, _, _) =>
        {
            // Only waits of the forward count: authentication's own HTTP calls (token keys) happen before it.
            if (RequestRecord.Current is { BackendSent: not 0 } record)
            {
                record.BackendConnectWait += TimeSpan.FromSeconds(seconds);
            }
        });
        _listener.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();
}
