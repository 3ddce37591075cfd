using StackExchange.Redis;

namespace CasGateway.Scale;

/// <summary>
/// Runs an operation in the shared Redis, or — while Redis cannot be reached — on this node's own state, so the front
/// door keeps serving through a Redis outage. The switch is logged once each way; while degraded, one call a second
/// tries Redis again and the others go straight to the local state.
/// </summary>
public sealed partial class RedisOrLocal(SharedRedis redis, string what, TimeProvider clock, ILogger logger)
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private int _degraded;
    private long _nextTry;

    public SharedRedis Redis => redis;

    public async ValueTask<T> RunAsync<T>(Func<IDatabase, Task<T>> shared, Func<T> local)
    {
        if (Volatile.Read(ref _degraded) == 1)
        {
            var now = clock.GetTimestamp();
            var next = Volatile.Read(ref _nextTry);
            if (now < next || Interlocked.CompareExchange(ref _nextTry, now + Ticks(RetryInterval), next) != next)
            {
                return local();
            }
        }
        try
        {
            var result = await shared(redis.Database);
            if (Interlocked.Exchange(ref _degraded, 0) == 1)
            {
                LogRecovered(logger, what);
            }
            return result;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Volatile.Write(ref _nextTry, clock.GetTimestamp() + Ticks(RetryInterval));
            if (Interlocked.Exchange(ref _degraded, 1) == 0)
            {
                LogDegraded(logger, what, ex.Message);
            }
            return local();
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * clock.TimestampFrequency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} fall back to this node: Redis is unreachable ({Reason})")]
    private static partial void LogDegraded(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{What} are shared through Redis again")]
    private static partial void LogRecovered(ILogger logger, string what);
}
