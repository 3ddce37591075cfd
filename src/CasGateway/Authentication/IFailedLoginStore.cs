namespace CasGateway.Authentication;

/// <summary>
/// Where failed logins are counted. In memory per node today (<see cref="InMemoryFailedLoginStore"/>); a shared
/// store (e.g. Redis, one Lua script per operation) lets several nodes count together. Each operation covers all
/// its keys in one atomic step, so a check is one round trip and concurrent failures are never lost.
/// </summary>
public interface IFailedLoginStore
{
    /// <summary>The state of each key at <paramref name="now"/> (<see cref="FailedLoginState.None"/> when unknown or expired), read at once.</summary>
    ValueTask<FailedLoginState[]> ReadAsync(IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Adds one failure to each key at once and returns the new states: a key that reaches its
    /// <see cref="FailedLoginCount.LockoutAfter"/> is locked until <c>now + LockoutDuration</c> and starts counting from zero;
    /// a key is forgotten <see cref="FailedLoginCount.ForgetAfter"/> after its last failure (or when its lockout ends, if later).
    /// </summary>
    ValueTask<FailedLoginState[]> AddFailureAsync(IReadOnlyList<FailedLoginCount> counts, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Forgets a key (a successful login clears its account's failures).</summary>
    ValueTask ForgetAsync(string key, CancellationToken cancellationToken);
}

/// <summary>One key's failures since it was last forgotten or locked, the last one's time, and the end of its lockout.</summary>
public readonly record struct FailedLoginState(int Failures, DateTimeOffset LastFailure, DateTimeOffset LockedUntil)
{
    public static readonly FailedLoginState None = default;

    public bool IsEmpty => Failures == 0 && LockedUntil == default;
}

/// <summary>A failure to add to <see cref="Key"/>, with that key's rules.</summary>
public readonly record struct FailedLoginCount(string Key, int LockoutAfter, TimeSpan LockoutDuration, TimeSpan ForgetAfter);
