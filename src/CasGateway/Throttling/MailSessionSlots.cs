using System.Collections.Concurrent;
using CasGateway.Mail.Core;
using CasGateway.Scale;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace CasGateway.Throttling;

/// <summary>
/// Caps the logged-in IMAP, POP3 and SMTP submission sessions of one user (<c>Gateway:Throttling:MailSessions</c>).
/// With <c>Gateway:Redis</c> the sessions of every node count together: each session is a member of the user's sorted
/// set in Redis, scored with the end of its lease (Redis's own clock), taken and checked in one script; leases are
/// renewed in one batch while the sessions live, so a node that dies frees its users' slots within
/// <see cref="Lease"/>. While Redis is away each node caps on its own.
/// </summary>
public sealed class MailSessionSlots : IAsyncDisposable
{
    /// <summary>How long a session's place in Redis lasts without a renewal.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(30);

    private const string TakeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    private const string RenewScript = """
        local t = redis.call('TIME')
        local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
        for i, key in ipairs(KEYS) do
          redis.call('ZADD', key, 'XX', expires, ARGV[i + 1])
          redis.call('PEXPIRE', key, ARGV[1])
        end
        return #KEYS
        """;

    private readonly IOptionsMonitor<ThrottlingOptions> _options;
    private readonly RedisOrLocal? _shared;
    private readonly ConcurrentDictionary<string, int> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<MailSessionSlot, byte> _inRedis = new();
    private readonly ITimer? _renewal;

    public MailSessionSlots(IOptionsMonitor<ThrottlingOptions> options, TimeProvider clock, ILogger<MailSessionSlots> logger, SharedRedis? redis)
    {
        _options = options;
        if (redis is not null)
        {
            _shared = new RedisOrLocal(redis, "Mail session counts", clock, logger);
            _renewal = clock.CreateTimer(_ => _ = RenewAsync(), null, RenewEvery, RenewEvery);
        }
    }

    /// <summary>The cap for <paramref name="protocol"/>, or null when there is none.</summary>
    public int? CapOf(MailProtocol protocol)
    {
        var caps = _options.CurrentValue;
        if (!caps.Enabled)
        {
            return null;
        }
        return protocol switch
        {
            MailProtocol.Imap => caps.MailSessions.Imap,
            MailProtocol.Pop3 => caps.MailSessions.Pop,
            _ => caps.MailSessions.Smtp,
        };
    }

    /// <summary>A place for one more session of <paramref name="user"/>, held until disposed; null when the user is at the cap.</summary>
    public async ValueTask<MailSessionSlot?> TryTakeAsync(string user, MailProtocol protocol)
    {
        if (CapOf(protocol) is not { } cap)
        {
            return MailSessionSlot.Uncapped;
        }
        var key = $"{protocol}|{user.ToLowerInvariant()}";
        if (_shared is null)
        {
            return TakeLocal(key, cap) ? new MailSessionSlot(this, key, null) : null;
        }
        var id = Guid.NewGuid().ToString("N");
        var (taken, inRedis) = await _shared.RunAsync(
            async database => ((long)await database.ScriptEvaluateAsync(TakeScript, [RedisKey(key)], [cap, (long)Lease.TotalMilliseconds, id]) == 1, true),
            () => (TakeLocal(key, cap), false));
        if (!taken)
        {
            return null;
        }
        var slot = new MailSessionSlot(this, key, inRedis ? id : null);
        if (inRedis)
        {
            _inRedis[slot] = 0;
        }
        return slot;
    }

    public async ValueTask DisposeAsync()
    {
        if (_renewal is not null)
        {
            await _renewal.DisposeAsync();
        }
    }

    internal async ValueTask ReleaseAsync(MailSessionSlot slot)
    {
        if (slot.RedisId is not { } id)
        {
            ReleaseLocal(slot.Key);
            return;
        }
        _inRedis.TryRemove(slot, out _);
        // Redis away: nothing to do here, the lease ends by itself.
        await _shared!.RunAsync(database => database.SortedSetRemoveAsync(RedisKey(slot.Key), id), () => false);
    }

    private RedisKey RedisKey(string key) => _shared!.Redis.Key("mail-sessions:" + key);

    private bool TakeLocal(string key, int cap)
    {
        while (true)
        {
            var count = _local.GetOrAdd(key, 0);
            if (count >= cap)
            {
                return false;
            }
            if (_local.TryUpdate(key, count + 1, count))
            {
                return true;
            }
        }
    }

    private void ReleaseLocal(string key)
    {
        while (_local.TryGetValue(key, out var count))
        {
            if (_local.TryUpdate(key, count - 1, count))
            {
                if (count == 1)
                {
                    _local.TryRemove(new KeyValuePair<string, int>(key, 0));
                }
                return;
            }
        }
    }

    private async Task RenewAsync()
    {
        var live = _inRedis.Keys.ToArray();
        foreach (var batch in live.Chunk(500))
        {
            RedisValue[] arguments = [(long)Lease.TotalMilliseconds, .. batch.Select(s => (RedisValue)s.RedisId)];
            await _shared!.RunAsync(
                async database => (long)await database.ScriptEvaluateAsync(RenewScript, [.. batch.Select(s => RedisKey(s.Key))], arguments),
                () => 0L);
        }
    }
}

/// <summary>One session's place under its user's cap; disposing it (once the session ends) frees the place.</summary>
public sealed class MailSessionSlot : IAsyncDisposable
{
    private readonly MailSessionSlots? _owner;
    private int _released;

    internal MailSessionSlot(MailSessionSlots? owner, string key, string? redisId)
    {
        _owner = owner;
        Key = key;
        RedisId = redisId;
    }

    /// <summary>The place of a session whose protocol has no cap: nothing to free.</summary>
    public static MailSessionSlot Uncapped { get; } = new(null, "", null);

    internal string Key { get; }

    /// <summary>The session's member in Redis, or null when it is counted on this node only.</summary>
    internal string? RedisId { get; }

    public ValueTask DisposeAsync()
        => _owner is not null && Interlocked.Exchange(ref _released, 1) == 0 ? _owner.ReleaseAsync(this) : ValueTask.CompletedTask;
}
