using System.Collections.Concurrent;

namespace CasGateway.Throttling;

/// <summary>This node's own window counters; windows are aligned to the clock, so expired ones are simply replaced.</summary>
public sealed class InMemoryThrottleCounterStore(TimeProvider clock) : IThrottleCounterStore
{
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public ValueTask<WindowCount> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken)
        => ValueTask.FromResult(Increment(key, window));

    public WindowCount Increment(string key, TimeSpan window)
    {
        var now = clock.GetUtcNow().UtcTicks;
        var start = now - (now % window.Ticks);
        while (true)
        {
            var current = _windows.GetOrAdd(key, static (_, s) => new Window(s), start);
            if (current.Start != start)
            {
                // An old window: replace it, unless another request just did.
                _windows.TryUpdate(key, new Window(start), current);
                continue;
            }
            var count = Interlocked.Increment(ref current.Count);
            if (_windows.Count > 100_000)
            {
                Sweep(start);
            }
            return new WindowCount(count, TimeSpan.FromTicks(start + window.Ticks - now));
        }
    }

    /// <summary>Drops windows that ended, so one-off keys (scanners, many users) do not grow the table forever.</summary>
    private void Sweep(long currentStart)
    {
        foreach (var (key, value) in _windows)
        {
            if (value.Start < currentStart)
            {
                _windows.TryRemove(new KeyValuePair<string, Window>(key, value));
            }
        }
    }

    private sealed class Window(long start)
    {
        public readonly long Start = start;
        public long Count;
    }
}
