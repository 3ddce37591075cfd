using CasGateway.Scale;
using StackExchange.Redis;

namespace CasGateway.Throttling;

/// <summary>
/// Window counters shared by every node through <c>Gateway:Redis</c>: one Lua script per request (INCR, and PEXPIRE
/// on a new window), so a user's budget is the same whichever node serves them; this node's own counters while
/// Redis is away.
/// </summary>
public sealed class RedisThrottleCounterStore(SharedRedis redis, InMemoryThrottleCounterStore local, TimeProvider clock, ILogger<RedisThrottleCounterStore> logger)
    : IThrottleCounterStore
{
    private const string Script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return { count, redis.call('PTTL', KEYS[1]) }
        """;

    private readonly RedisOrLocal _shared = new(redis, "Throttling counters", clock, logger);

    public ValueTask<WindowCount> IncrementAsync(string key, TimeSpan window, CancellationToken cancellationToken)
        => _shared.RunAsync(
            async database =>
            {
                var result = (RedisResult[])(await database.ScriptEvaluateAsync(Script, [redis.Key("thr:" + key)], [(long)window.TotalMilliseconds]))!;
                var ttl = (long)result[1];
                return new WindowCount((long)result[0], ttl > 0 ? TimeSpan.FromMilliseconds(ttl) : window);
            },
            () => local.Increment(key, window));
}
