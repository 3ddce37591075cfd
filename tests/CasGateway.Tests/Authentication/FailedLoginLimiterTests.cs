using System.Diagnostics.Metrics;
using System.Net;
using CasGateway.Authentication;
using CasGateway.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CasGateway.Tests.Authentication;

/// <summary>The limiter's arithmetic on a fake clock: back-off doubling to its cap, lockout and its end, forgetting, scopes.</summary>
public sealed class FailedLoginLimiterTests : IDisposable
{
    private static readonly IPAddress Attacker = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Office = IPAddress.Parse("198.51.100.20");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, long Value, string Tags)> _measurements = [];
    private readonly GatewayAuthenticationOptions _options = new()
    {
        FailedLogins = new FailedLoginOptions
        {
            Account = new FailedLoginThresholds { BackoffAfter = 3, LockoutAfter = 6 },
            Source = new FailedLoginThresholds { BackoffAfter = 8, LockoutAfter = 12 },
            BackoffBase = TimeSpan.FromSeconds(1),
            BackoffMax = TimeSpan.FromSeconds(3),
            LockoutDuration = TimeSpan.FromMinutes(5),
            ForgetAfter = TimeSpan.FromMinutes(10),
            MaxTrackedEntries = 1_000,
        },
    };
    private readonly InMemoryFailedLoginStore _store;
    private readonly FailedLoginLimiter _limiter;

    public FailedLoginLimiterTests()
    {
        _store = new InMemoryFailedLoginStore(Options.Create(_options));
        _limiter = new FailedLoginLimiter(_store, new FixedOptions(_options), _clock, new GatewayMetrics(_services.GetRequiredService<IMeterFactory>()), NullLogger<FailedLoginLimiter>.Instance);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == GatewayMetrics.MeterName && instrument.Name.StartsWith("casgateway.login.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))));
            }
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    [Fact]
    public async Task Back_off_starts_at_the_threshold_and_doubles_up_to_the_maximum()
    {
        await FailAsync("alice@contoso.com", Attacker, 2);
        Assert.True((await CheckAsync("alice@contoso.com", Attacker)).Allowed);

        await FailAsync("alice@contoso.com", Attacker, 1);
        var permit = await CheckAsync("alice@contoso.com", Attacker);
        Assert.Equal(LoginRefusal.Backoff, permit.Refusal);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(1), permit.RetryAt);
        Assert.Equal(1, permit.RetryAfterSeconds(_clock.GetUtcNow()));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await CheckAsync("alice@contoso.com", Attacker)).Allowed);
        await FailAsync("alice@contoso.com", Attacker, 1);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(2), (await CheckAsync("alice@contoso.com", Attacker)).RetryAt);

        _clock.Advance(TimeSpan.FromSeconds(2));
        await FailAsync("alice@contoso.com", Attacker, 1);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(3), (await CheckAsync("alice@contoso.com", Attacker)).RetryAt);
    }

    [Fact]
    public async Task Lockout_refuses_every_attempt_for_its_duration_then_counting_starts_again()
    {
        await FailAsync("bob@contoso.com", Attacker, 6);
        var locked = await CheckAsync("bob@contoso.com", Office);
        Assert.Equal(LoginRefusal.Lockout, locked.Refusal);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromMinutes(5), locked.RetryAt);
        Assert.Equal(300, locked.RetryAfterSeconds(_clock.GetUtcNow()));

        _clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(LoginRefusal.Lockout, (await CheckAsync("bob@contoso.com", Office)).Refusal);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await CheckAsync("bob@contoso.com", Office)).Allowed);

        await FailAsync("bob@contoso.com", Attacker, 2);
        Assert.True((await CheckAsync("bob@contoso.com", Office)).Allowed, "the lockout restarted the count");
        Assert.Contains(_measurements, m => m.Instrument == "casgateway.login.lockouts" && m.Tags == "scope=account");
        Assert.Contains(_measurements, m => m.Instrument == "casgateway.login.refusals" && m.Tags == "protocol=Test,reason=lockout");
    }

    [Fact]
    public async Task Failures_are_forgotten_after_the_forget_period()
    {
        await FailAsync("carol@contoso.com", Attacker, 5);
        Assert.False((await CheckAsync("carol@contoso.com", Attacker)).Allowed);
        _clock.Advance(TimeSpan.FromMinutes(10));
        var permit = await CheckAsync("carol@contoso.com", Attacker);
        Assert.True(permit.Allowed);
        Assert.False(permit.AccountHasFailures);
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public async Task Success_clears_the_account_but_not_the_source()
    {
        await FailAsync("dave@contoso.com", Attacker, 5);
        await FailAsync("erin@contoso.com", Attacker, 2);
        Assert.True((await CheckAsync("dave@contoso.com", Attacker)).AccountHasFailures);
        await _limiter.RecordSuccessAsync("DAVE@contoso.com", CancellationToken.None);
        Assert.True((await CheckAsync("dave@contoso.com", Office)).Allowed);

        // The source has 7 failures; one more starts its back-off, whatever account is tried.
        await FailAsync("frank@contoso.com", Attacker, 1);
        var permit = await CheckAsync("dave@contoso.com", Attacker);
        Assert.Equal(LoginRefusal.Backoff, permit.Refusal);
        Assert.True((await CheckAsync("dave@contoso.com", Office)).Allowed, "another source is not affected");
    }

    [Fact]
    public async Task A_source_trying_many_accounts_is_locked_for_all_of_them_and_others_are_unaffected()
    {
        for (var i = 0; i < 12; i++)
        {
            await FailAsync($"user{i}@contoso.com", Attacker, 1);
            _clock.Advance(TimeSpan.FromSeconds(10));
        }
        var permit = await CheckAsync("newuser@contoso.com", Attacker);
        Assert.Equal(LoginRefusal.Lockout, permit.Refusal);
        Assert.True((await CheckAsync("user0@contoso.com", Office)).Allowed);
        Assert.Contains(_measurements, m => m.Instrument == "casgateway.login.lockouts" && m.Tags == "scope=source");
    }

    [Fact]
    public async Task The_stricter_of_account_and_source_wins()
    {
        await FailAsync("gina@contoso.com", Attacker, 6);
        for (var i = 0; i < 8; i++)
        {
            await FailAsync($"other{i}@contoso.com", Office, 1);
        }
        var permit = await CheckAsync("gina@contoso.com", Office);
        Assert.Equal(LoginRefusal.Lockout, permit.Refusal);
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    public void Ipv6_sources_are_counted_per_64(string first, string second, bool same)
        => Assert.Equal(same, FailedLoginLimiter.SourceKey(IPAddress.Parse(first)) == FailedLoginLimiter.SourceKey(IPAddress.Parse(second)));

    [Fact]
    public void Account_names_compare_case_insensitively()
        => Assert.Equal(FailedLoginLimiter.AccountKey("Alice@Contoso.com"), FailedLoginLimiter.AccountKey("alice@contoso.com"));

    [Fact]
    public async Task The_store_keeps_at_most_its_cap_dropping_the_earliest_to_expire()
    {
        for (var i = 0; i < 1_200; i++)
        {
            await FailAsync($"spray{i}@contoso.com", null, 1);
            _clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Equal(1_000, _store.Count);
        Assert.False((await CheckAsync("spray0@contoso.com", null)).AccountHasFailures);
        Assert.True((await CheckAsync("spray1199@contoso.com", null)).AccountHasFailures);
    }

    [Fact]
    public async Task Disabled_limiter_allows_everything_and_counts_nothing()
    {
        _options.FailedLogins.Enabled = false;
        await FailAsync("henry@contoso.com", Attacker, 20);
        Assert.True((await CheckAsync("henry@contoso.com", Attacker)).Allowed);
        Assert.Equal(0, _store.Count);
    }

    private ValueTask<LoginPermit> CheckAsync(string account, IPAddress? source) => _limiter.CheckAsync(account, source, "Test", CancellationToken.None);

    private async Task FailAsync(string account, IPAddress? source, int times)
    {
        for (var i = 0; i < times; i++)
        {
            await _limiter.RecordFailureAsync(account, source, "Test", CancellationToken.None);
        }
    }

    private sealed class FixedOptions(GatewayAuthenticationOptions value) : IOptionsMonitor<GatewayAuthenticationOptions>
    {
        public GatewayAuthenticationOptions CurrentValue => value;

        public GatewayAuthenticationOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<GatewayAuthenticationOptions, string?> listener) => null;
    }
}
