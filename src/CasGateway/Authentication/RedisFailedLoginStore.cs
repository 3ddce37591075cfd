using CasGateway.Scale;
using StackExchange.Redis;

namespace CasGateway.Authentication;

/// <summary>
/// Failed logins counted by every node together in <c>Gateway:Redis</c>, so a guesser's budget does not grow with
/// the number of nodes: each operation is one Lua script over all its keys (one round trip, atomic). Each key is a
/// hash (failures, last failure, lockout end, in Unix milliseconds) that Redis forgets at the later of
/// <see cref="FailedLoginCount.ForgetAfter"/> and the lockout's end. This node's own counts while Redis is away.
/// </summary>
public sealed class RedisFailedLoginStore(SharedRedis redis, InMemoryFailedLoginStore local, TimeProvider clock, ILogger<RedisFailedLoginStore> logger)
    : IFailedLoginStore
{
    private const string ReadScript = """
        local out = {}
        for i, key in ipairs(KEYS) do
          local v = redis.call('HMGET', key, 'f', 'last', 'lock')
          out[#out + 1] = tonumber(v[1]) or 0
          out[#out + 1] = tonumber(v[2]) or 0
          out[#out + 1] = tonumber(v[3]) or 0
        end
        return out
        """;

    private const string AddScript = """
        local now = tonumber(ARGV[1])
        local out = {}
        for i, key in ipairs(KEYS) do
          local after = tonumber(ARGV[i * 3 - 1])
          local duration = tonumber(ARGV[i * 3])
          local forget = tonumber(ARGV[i * 3 + 1])
          local v = redis.call('HMGET', key, 'f', 'lock')
          local failures = (tonumber(v[1]) or 0) + 1
          local lock = tonumber(v[2]) or 0
          if failures >= after then
            failures = 0
            lock = now + duration
          end
          redis.call('HSET', key, 'f', failures, 'last', now, 'lock', lock)
          redis.call('PEXPIREAT', key, math.max(now + forget, lock))
          out[#out + 1] = failures
          out[#out + 1] = now
          out[#out + 1] = lock
        end
        return out
        """;

    private readonly RedisOrLocal _shared = new(redis, "Failed-login counts", clock, logger);

    public ValueTask<FailedLoginState[]> ReadAsync(IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken)
        => _shared.RunAsync(
            async database => States((RedisResult[])(await database.ScriptEvaluateAsync(ReadScript, Keys(keys)))!),
            () => local.ReadAsync(keys, now, cancellationToken).Result);

    public ValueTask<FailedLoginState[]> AddFailureAsync(IReadOnlyList<FailedLoginCount> counts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var arguments = new RedisValue[1 + counts.Count * 3];
        arguments[0] = now.ToUnixTimeMilliseconds();
        for (var i = 0; i < counts.Count; i++)
        {
            arguments[1 + i * 3] = counts[i].LockoutAfter;
            arguments[2 + i * 3] = (long)counts[i].LockoutDuration.TotalMilliseconds;
            arguments[3 + i * 3] = (long)counts[i].ForgetAfter.TotalMilliseconds;
        }
        return _shared.RunAsync(
            async database => States((RedisResult[])(await database.ScriptEvaluateAsync(AddScript, Keys(counts.Select(c => c.Key).ToList()), arguments))!),
            () => local.AddFailureAsync(counts, now, cancellationToken).Result);
    }

    public async ValueTask ForgetAsync(string key, CancellationToken cancellationToken)
    {
        await local.ForgetAsync(key, cancellationToken);
        await _shared.RunAsync(async database => await database.KeyDeleteAsync(redis.Key("login:" + key)), () => false);
    }

    private RedisKey[] Keys(IReadOnlyList<string> keys)
    {
        var result = new RedisKey[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            result[i] = redis.Key("login:" + keys[i]);
        }
        return result;
    }

    private static FailedLoginState[] States(RedisResult[] flat)
    {
        var states = new FailedLoginState[flat.Length / 3];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = new FailedLoginState((int)flat[i * 3], Time((long)flat[i * 3 + 1]), Time((long)flat[i * 3 + 2]));
        }
        return states;
    }

    /// <summary>Unix milliseconds; 0 (never) is <c>default</c>, as in the in-memory store.</summary>
    private static DateTimeOffset Time(long milliseconds) => milliseconds == 0 ? default : DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
