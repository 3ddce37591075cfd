using CasGateway.Observability;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace CasGateway.Tests.Observability;

/// <summary>Issue 10: the <c>Batched</c> sink queues without writing on the caller's thread, keeps order, bounds its queue.</summary>
public sealed class BatchedLogSinkTests
{
    [Fact]
    public void Events_are_written_by_the_loop_in_order_and_disposing_writes_the_rest()
    {
        var written = new Collector();
        var logger = new LoggerConfiguration().WriteTo.Batched(sinks => sinks.Sink(written), period: TimeSpan.FromSeconds(10)).CreateLogger();
        for (var i = 0; i < 1_000; i++)
        {
            logger.Information("event {Number}", i);
        }

        Assert.Empty(written.Events);
        logger.Dispose();

        Assert.Equal(Enumerable.Range(0, 1_000), written.Events.Select(e => (int)((ScalarValue)e.Properties["Number"]).Value!));
    }

    [Fact]
    public async Task A_batch_is_written_every_period()
    {
        var written = new Collector();
        using var logger = new LoggerConfiguration().WriteTo.Batched(sinks => sinks.Sink(written), period: TimeSpan.FromMilliseconds(50)).CreateLogger();
        logger.Information("first");

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (written.Events.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal("first", Assert.Single(written.Events).MessageTemplate.Text);
    }

    [Fact]
    public void Beyond_the_queue_limit_events_are_dropped_and_counted()
    {
        var written = new Collector();
        var logger = new LoggerConfiguration().WriteTo.Batched(sinks => sinks.Sink(written), period: TimeSpan.FromSeconds(10), queueLimit: 10).CreateLogger();
        for (var i = 0; i < 25; i++)
        {
            logger.Information("event {Number}", i);
        }
        logger.Dispose();

        Assert.Equal(11, written.Events.Count);
        var dropped = written.Events[0];
        Assert.Equal(LogEventLevel.Warning, dropped.Level);
        Assert.Equal(15L, ((ScalarValue)dropped.Properties["DroppedEvents"]).Value);
        Assert.Equal(Enumerable.Range(0, 10), written.Events.Skip(1).Select(e => (int)((ScalarValue)e.Properties["Number"]).Value!));
    }

    [Fact]
    public void A_sink_that_throws_does_not_stop_the_events_after_it()
    {
        var written = new Collector { ThrowOn = 3 };
        var logger = new LoggerConfiguration().WriteTo.Batched(sinks => sinks.Sink(written), period: TimeSpan.FromSeconds(10)).CreateLogger();
        for (var i = 0; i < 6; i++)
        {
            logger.Information("event {Number}", i);
        }
        logger.Dispose();

        Assert.Equal([0, 1, 2, 4, 5], written.Events.Select(e => (int)((ScalarValue)e.Properties["Number"]).Value!));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11_000)]
    public void A_period_out_of_range_is_refused(int milliseconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LoggerConfiguration()
            .WriteTo.Batched(sinks => sinks.Sink(new Collector()), period: TimeSpan.FromMilliseconds(milliseconds)));
    }

    private sealed class Collector : ILogEventSink
    {
        private int _seen;

        public List<LogEvent> Events { get; } = [];

        public int? ThrowOn { get; init; }

        public void Emit(LogEvent logEvent)
        {
            if (_seen++ == ThrowOn)
            {
                throw new IOException("disk full");
            }
            lock (Events)
            {
                Events.Add(logEvent);
            }
        }
    }
}
