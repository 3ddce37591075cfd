using CasGateway.Scale;
using StackExchange.Redis;

namespace CasGateway.Throttling;

/// <summary>
/// Window counters shared by every node through <c>Gateway:Redis</c>: one Lua script per request (INCR, and PEXPIRE
/// on a new window), so a user's budget is the same whichever node serves them. While Redis cannot be reached the
/// node counts locally (logged once per outage), so the front door keeps serving.
/// </summary>
public sealed partial class RedisThrottleCounterStore(SharedRedis redis, InMemoryThrottleCounterStore local, TimeProvider clock, ILogger<RedisThrottleCounterStore> logger)
    : IThrottleCounterStore
{
    /// <summary>While degraded, how often one request tries Redis again (the others count locally meanwhile).</summary>
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return { count, redis.call('PTTL', KEYS[1]) }
        """;

    private int _degraded;
    private long _nextTry;

    public async ValueTask<WindowCount> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _degraded) == 1)
        {
            var now = clock.GetTimestamp();
            var next = Volatile.Read(ref _nextTry);
            if (now < next || Interlocked.CompareExchange(ref _nextTry, now + (long)(RetryInterval.TotalSeconds * clock.TimestampFrequency), next) != next)
            {
                return local.Increment(key, window);
            }
        }
        try
        {
            var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(Script, [redis.Key("thr:" + key)], [(long)window.TotalMilliseconds]))!;
            if (Interlocked.Exchange(ref _degraded, 0) == 1)
            {
                LogRecovered(logger);
            }
            var ttl = (long)result[1];
            return new WindowCount((long)result[0], ttl > 0 ? TimeSpan.FromMilliseconds(ttl) : window);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Volatile.Write(ref _nextTry, clock.GetTimestamp() + (long)(RetryInterval.TotalSeconds * clock.TimestampFrequency));
            if (Interlocked.Exchange(ref _degraded, 1) == 0)
            {
                LogDegraded(logger, ex.Message);
            }
            return local.Increment(key, window);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Throttling counters fall back to this node: Redis is unreachable ({Reason})")]
    private static partial void LogDegraded(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Throttling counters are shared through Redis again")]
    private static partial void LogRecovered(ILogger logger);
}
