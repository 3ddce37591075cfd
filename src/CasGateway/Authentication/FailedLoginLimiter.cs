using System.Net;
using System.Net.Sockets;
using CasGateway.Observability;
using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// The failed-login limiter every password protocol shares (HTTP Basic, IMAP, POP3, SMTP AUTH). Call it around
/// each credential check:
/// <list type="number">
/// <item><see cref="CheckAsync"/> before checking the password: when <see cref="LoginPermit.Allowed"/> is false the
/// attempt is refused without looking at the password (a right password is refused too) and the client is told to
/// come back after <see cref="LoginPermit.RetryAt"/>; the refusal is already logged and counted.</item>
/// <item><see cref="RecordFailureAsync"/> after wrong credentials (unknown accounts count like known ones, so the
/// answers never tell whether an account exists).</item>
/// <item><see cref="RecordSuccessAsync"/> after a good password, only needed when
/// <see cref="LoginPermit.AccountHasFailures"/> (it clears the account's failures; the source's stay).</item>
/// </list>
/// <see cref="PasswordSignIn"/> does all three with the credential validator; protocol code normally calls that.
/// </summary>
public interface IFailedLoginLimiter
{
    /// <summary>Whether <paramref name="account"/> may try a password from <paramref name="source"/> now (one atomic read of the store).</summary>
    /// <param name="protocol">For logs and metrics: <c>Basic</c>, <c>IMAP</c>, <c>POP3</c>, <c>SMTP</c>.</param>
    ValueTask<LoginPermit> CheckAsync(string account, IPAddress? source, string protocol, CancellationToken cancellationToken);

    /// <summary>Counts one failed login for the account and the source (one atomic update of the store).</summary>
    ValueTask RecordFailureAsync(string account, IPAddress? source, string protocol, CancellationToken cancellationToken);

    /// <summary>Clears the account's failures after a good password.</summary>
    ValueTask RecordSuccessAsync(string account, CancellationToken cancellationToken);
}

/// <summary>Why an attempt is refused before its password is checked.</summary>
public enum LoginRefusal
{
    None,

    /// <summary>Too many recent failures: the next attempt must wait (doubling with each failure).</summary>
    Backoff,

    /// <summary>Too many failures: every attempt is refused until the lockout ends.</summary>
    Lockout,
}

/// <summary>The limiter's answer: allowed, or refused until <see cref="RetryAt"/> (for <c>Retry-After</c>).</summary>
public readonly record struct LoginPermit(LoginRefusal Refusal, DateTimeOffset RetryAt, bool AccountHasFailures)
{
    public bool Allowed => Refusal == LoginRefusal.None;

    /// <summary>Whole seconds until <see cref="RetryAt"/>, at least 1 (the <c>Retry-After</c> value).</summary>
    public int RetryAfterSeconds(DateTimeOffset now) => Math.Max(1, (int)Math.Ceiling((RetryAt - now).TotalSeconds));
}

/// <inheritdoc cref="IFailedLoginLimiter"/>
public sealed partial class FailedLoginLimiter(
    IFailedLoginStore store,
    IOptionsMonitor<GatewayAuthenticationOptions> options,
    TimeProvider clock,
    GatewayMetrics metrics,
    ILogger<FailedLoginLimiter> logger) : IFailedLoginLimiter
{
    public async ValueTask<LoginPermit> CheckAsync(string account, IPAddress? source, string protocol, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.FailedLogins;
        if (!settings.Enabled)
        {
            return default;
        }
        var now = clock.GetUtcNow();
        var sourceKey = SourceKey(source);
        var states = await store.ReadAsync(sourceKey is null ? [AccountKey(account)] : [AccountKey(account), sourceKey], now, cancellationToken);
        var permit = Evaluate(states[0], settings.Account, settings, now);
        var scope = "account";
        if (states.Length > 1 && Evaluate(states[1], settings.Source, settings, now) is { Allowed: false } bySource && IsStricter(bySource, permit))
        {
            permit = bySource;
            scope = "source";
        }
        permit = permit with { AccountHasFailures = !states[0].IsEmpty };
        if (!permit.Allowed)
        {
            metrics.RecordLoginRefusal(protocol, permit.Refusal.ToString().ToLowerInvariant());
            LogRefused(logger, protocol, account, Show(source), permit.Refusal, scope, permit.RetryAt);
        }
        return permit;
    }

    public async ValueTask RecordFailureAsync(string account, IPAddress? source, string protocol, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.FailedLogins;
        if (!settings.Enabled)
        {
            return;
        }
        var now = clock.GetUtcNow();
        var counts = new List<FailedLoginCount>(2)
        {
            new(AccountKey(account), settings.Account.LockoutAfter, settings.LockoutDuration, settings.ForgetAfter),
        };
        if (SourceKey(source) is { } sourceKey)
        {
            counts.Add(new(sourceKey, settings.Source.LockoutAfter, settings.LockoutDuration, settings.ForgetAfter));
        }
        metrics.RecordLoginFailure(protocol);
        var states = await store.AddFailureAsync(counts, now, cancellationToken);
        for (var i = 0; i < states.Length; i++)
        {
            if (states[i].Failures == 0 && states[i].LockedUntil > now)
            {
                var scope = i == 0 ? "account" : "source";
                metrics.RecordLockout(scope);
                LogLocked(logger, scope, i == 0 ? account : Show(source), protocol, states[i].LockedUntil);
            }
        }
    }

    public ValueTask RecordSuccessAsync(string account, CancellationToken cancellationToken)
        => options.CurrentValue.FailedLogins.Enabled ? store.ForgetAsync(AccountKey(account), cancellationToken) : ValueTask.CompletedTask;

    /// <summary>The arithmetic: locked, backing off (the wait doubles per failure past the threshold, up to the maximum), or allowed.</summary>
    public static LoginPermit Evaluate(FailedLoginState state, FailedLoginThresholds thresholds, FailedLoginOptions settings, DateTimeOffset now)
    {
        if (state.LockedUntil > now)
        {
            return new LoginPermit(LoginRefusal.Lockout, state.LockedUntil, true);
        }
        if (state.Failures == 0 || state.Failures < thresholds.BackoffAfter)
        {
            return default;
        }
        var doublings = Math.Min(state.Failures - thresholds.BackoffAfter, 40);
        var wait = TimeSpan.FromTicks((long)Math.Min(settings.BackoffBase.Ticks * Math.Pow(2, doublings), settings.BackoffMax.Ticks));
        var next = state.LastFailure + wait;
        return next > now ? new LoginPermit(LoginRefusal.Backoff, next, true) : default;
    }

    /// <summary>Account names compare as the directory does: case-insensitively.</summary>
    public static string AccountKey(string account) => "account:" + account.Trim().ToLowerInvariant();

    /// <summary>An IPv4 address, or an IPv6 address's /64 (one subscriber usually holds a whole /64).</summary>
    public static string? SourceKey(IPAddress? source)
    {
        if (source is null)
        {
            return null;
        }
        if (source.IsIPv4MappedToIPv6)
        {
            source = source.MapToIPv4();
        }
        if (source.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return "source:" + source;
        }
        Span<byte> bytes = stackalloc byte[16];
        source.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return "source:" + new IPAddress(bytes) + "/64";
    }

    private static bool IsStricter(LoginPermit candidate, LoginPermit current)
        => current.Allowed || candidate.Refusal > current.Refusal || (candidate.Refusal == current.Refusal && candidate.RetryAt > current.RetryAt);

    private static string Show(IPAddress? source) => source?.ToString() ?? "(unknown)";

    [LoggerMessage(Level = LogLevel.Information, Message = "{Protocol} login for {UserName} from {ClientIp} refused before the password check: {Refusal} of the {Scope} until {RetryAt:o}")]
    private static partial void LogRefused(ILogger logger, string protocol, string userName, string clientIp, LoginRefusal refusal, string scope, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Too many failed logins: {Scope} {Key} locked until {LockedUntil:o} (last failure over {Protocol})")]
    private static partial void LogLocked(ILogger logger, string scope, string key, string protocol, DateTimeOffset lockedUntil);
}
