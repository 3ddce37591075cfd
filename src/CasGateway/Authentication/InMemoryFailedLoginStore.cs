using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// Failed-login counts in this node's memory, behind one lock (each operation touches two entries for microseconds;
/// the hashing cap bounds how fast failures can arrive). At most
/// <see cref="FailedLoginOptions.MaxTrackedEntries"/> keys: when full, expired keys go, then the earliest to expire.
/// With the default cap and a hash gate of a few dozen checks a second, a full forget period of failures fits.
/// </summary>
public sealed class InMemoryFailedLoginStore(IOptions<GatewayAuthenticationOptions> options) : IFailedLoginStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Keys currently remembered (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public ValueTask<FailedLoginState[]> ReadAsync(IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var states = new FailedLoginState[keys.Count];
        lock (_lock)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                states[i] = Live(keys[i], now)?.State ?? FailedLoginState.None;
            }
        }
        return ValueTask.FromResult(states);
    }

    public ValueTask<FailedLoginState[]> AddFailureAsync(IReadOnlyList<FailedLoginCount> counts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var states = new FailedLoginState[counts.Count];
        lock (_lock)
        {
            for (var i = 0; i < counts.Count; i++)
            {
                var count = counts[i];
                var entry = Live(count.Key, now) ?? Add(count.Key, now);
                var failures = entry.State.Failures + 1;
                var lockedUntil = entry.State.LockedUntil;
                if (failures >= count.LockoutAfter)
                {
                    failures = 0;
                    lockedUntil = now + count.LockoutDuration;
                }
                entry.State = new FailedLoginState(failures, now, lockedUntil);
                var forgetAt = now + count.ForgetAfter;
                entry.ExpiresAt = forgetAt > lockedUntil ? forgetAt : lockedUntil;
                states[i] = entry.State;
            }
        }
        return ValueTask.FromResult(states);
    }

    public ValueTask ForgetAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _entries.Remove(key);
        }
        return ValueTask.CompletedTask;
    }

    private Entry? Live(string key, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }
        if (entry.ExpiresAt > now)
        {
            return entry;
        }
        _entries.Remove(key);
        return null;
    }

    private Entry Add(string key, DateTimeOffset now)
    {
        if (_entries.Count >= options.Value.FailedLogins.MaxTrackedEntries)
        {
            foreach (var (old, entry) in _entries)
            {
                if (entry.ExpiresAt <= now)
                {
                    _entries.Remove(old);
                }
            }
            if (_entries.Count >= options.Value.FailedLogins.MaxTrackedEntries)
            {
                _entries.Remove(_entries.MinBy(e => e.Value.ExpiresAt).Key);
            }
        }
        var added = new Entry();
        _entries[key] = added;
        return added;
    }

    private sealed class Entry
    {
        public FailedLoginState State { get; set; }

        public DateTimeOffset ExpiresAt { get; set; }
    }
}
