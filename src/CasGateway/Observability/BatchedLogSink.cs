using System.Collections.Concurrent;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;
using Serilog.Parsing;

namespace CasGateway.Observability;

/// <summary><c>"Name": "Batched"</c> in <c>Serilog:WriteTo</c>, wrapping other sinks the way <c>Async</c> does.</summary>
public static class BatchedSinkExtensions
{
    /// <summary>
    /// Writes the sinks configured by <paramref name="configure"/> from one background loop every
    /// <paramref name="period"/> (default 100 ms); at most <paramref name="queueLimit"/> events wait, further ones are
    /// dropped and counted.
    /// </summary>
    public static LoggerConfiguration Batched(this LoggerSinkConfiguration sinks, Action<LoggerSinkConfiguration> configure,
        TimeSpan? period = null, int queueLimit = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueLimit, 1);
        var interval = period ?? TimeSpan.FromMilliseconds(100);
        if (interval <= TimeSpan.Zero || interval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "The batch period must be above 0 and at most 10 s.");
        }
        return sinks.Sink(new BatchedLogSink(LoggerSinkConfiguration.CreateSink(configure), interval, queueLimit));
    }
}

/// <summary>
/// Queues events without waking anyone and hands them, in arrival order, to the wrapped sinks from a loop that runs
/// once per period. A writer thread woken for every event (Serilog.Sinks.Async) cost about a tenth of the gateway's
/// CPU per request; here the cost of waking is paid once per batch. Disposing writes what is still queued, and so
/// does the process exiting without disposing (<see cref="Environment.Exit"/>, e.g. on a second SIGTERM).
/// </summary>
internal sealed class BatchedLogSink : ILogEventSink, IDisposable
{
    private static readonly MessageTemplate DroppedTemplate = new MessageTemplateParser()
        .Parse("{DroppedEvents} log event(s) were dropped: more than {QueueLimit} were waiting to be written");

    private readonly ConcurrentQueue<LogEvent> _queue = new();
    private readonly ILogEventSink _inner;
    private readonly int _queueLimit;
    private readonly PeriodicTimer _timer;
    private readonly Task _loop;
    private readonly Lock _writing = new();
    private int _waiting;
    private long _dropped;

    public BatchedLogSink(ILogEventSink inner, TimeSpan period, int queueLimit)
    {
        _inner = inner;
        _queueLimit = queueLimit;
        _timer = new PeriodicTimer(period);
        _loop = Task.Run(RunAsync);
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public void Emit(LogEvent logEvent)
    {
        if (Interlocked.Increment(ref _waiting) > _queueLimit)
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Increment(ref _dropped);
            return;
        }
        _queue.Enqueue(logEvent);
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        _timer.Dispose();
        _loop.GetAwaiter().GetResult();
        (_inner as IDisposable)?.Dispose();
    }

    private async Task RunAsync()
    {
        while (await _timer.WaitForNextTickAsync())
        {
            WriteQueued();
        }
        WriteQueued();
    }

    private void OnProcessExit(object? sender, EventArgs e) => WriteQueued();

    private void WriteQueued()
    {
        lock (_writing)
        {
            WriteQueuedLocked();
        }
    }

    private void WriteQueuedLocked()
    {
        if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
        {
            Write(new LogEvent(DateTimeOffset.Now, LogEventLevel.Warning, null, DroppedTemplate,
                [new LogEventProperty("DroppedEvents", new ScalarValue(dropped)), new LogEventProperty("QueueLimit", new ScalarValue(_queueLimit))]));
        }
        while (_queue.TryDequeue(out var logEvent))
        {
            Interlocked.Decrement(ref _waiting);
            Write(logEvent);
        }
    }

    private void Write(LogEvent logEvent)
    {
        try
        {
            _inner.Emit(logEvent);
        }
        catch (Exception ex)
        {
            // A sink that throws (disk full, console gone) must not stop the others or the loop.
            SelfLog.WriteLine("Batched sink: writing an event failed: {0}", ex);
        }
    }
}
