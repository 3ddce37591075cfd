namespace CasGateway.Throttling;

/// <summary>Counts requests per key in fixed windows; one atomic round trip per request.</summary>
public interface IThrottleCounterStore
{
    /// <summary>Adds one request to <paramref name="key"/>'s current window: the count so far, and when the window ends.</summary>
    ValueTask<WindowCount> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken);
}

public readonly record struct WindowCount(long Count, TimeSpan ResetsIn);
