using System.Collections.Concurrent;
using CasGateway.Anchoring;
using CasGateway.Observability;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace CasGateway.Location;

/// <summary>
/// The <see cref="IMailboxLocator"/> every caller gets, a decorator over the store (registered under
/// <see cref="LocationStage.StoreKey"/>), so every lookup — HTTP routing, IMAP/POP, explain — goes through here: a bounded cache (positive and short negative entries, invalidation of one
/// mailbox or one database, one store call for any number of concurrent misses of the same anchor) in front of a
/// Polly pipeline (timeout, jittered retry, circuit breaker). While the store is down, locations past their
/// time-to-live are served for a bounded stale period; a cold miss then fails with <see cref="LocatorUnavailableException"/>.
/// </summary>
public sealed partial class MailboxLocationCache : IMailboxLocator, IDisposable
{
    private readonly IMailboxLocator _store;
    private readonly LocatorCacheOptions _options;
    private readonly LocatorResilienceOptions _resilience;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _clock;
    private readonly ILogger<MailboxLocationCache> _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<MailboxLocation?>>> _inflight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _databaseGenerations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Guid, long> _mailboxGenerations = new();
    private readonly MemoryCache _cache;
    private readonly GatewayMetrics _metrics;
    private long _epoch;

    public MailboxLocationCache([FromKeyedServices(LocationStage.StoreKey)] IMailboxLocator store, IOptions<LocatorOptions> options, TimeProvider clock, GatewayMetrics metrics,
        ILogger<MailboxLocationCache> logger)
    {
        _store = store;
        _options = options.Value.Cache;
        _resilience = options.Value.Resilience;
        _clock = clock;
        _logger = logger;
        _metrics = metrics;
        _pipeline = BuildPipeline(_resilience, clock);
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.SizeLimit });
        _store.Changed += OnStoreChanged;
    }

    /// <summary>The mailbox servers the store knows: a view of the store's list, read without a lookup.</summary>
    public IReadOnlyList<MailboxServer> Servers => _store.Servers;

    /// <summary>Raised after the store changed as a whole and the cache forgot every entry.</summary>
    public event Action? Changed;

    /// <summary>The server the store lists under <paramref name="fqdn"/> (case-insensitive), if any.</summary>
    public MailboxServer? FindServer(string? fqdn)
    {
        foreach (var server in _store.Servers)
        {
            if (string.Equals(server.Fqdn, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return server;
            }
        }
        return null;
    }

    /// <summary>Resolves through the cache; see <see cref="IMailboxLocator.LocateAsync"/>.</summary>
    /// <returns>The location and whether the cache answered.</returns>
    /// <exception cref="LocatorUnavailableException">The store failed and nothing usable is cached.</exception>
    public async ValueTask<(MailboxLocation? Location, bool FromCache)> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        var known = Cached(anchor, out var fresh);
        if (fresh)
        {
            return (known!.Location, true);
        }
        var call = _inflight.GetOrAdd(CacheKey.Of(anchor), (k, a) => new Lazy<Task<MailboxLocation?>>(() => FetchAsync(k, a)), anchor);
        try
        {
            return (await call.Value.WaitAsync(cancellationToken), false);
        }
        catch (LocatorUnavailableException) when (known?.Location is not null)
        {
            LogStale(_logger, anchor.Address, known.Location.Server?.Fqdn ?? "cloud");
            _metrics.RecordStaleLocation();
            return (known.Location, true);
        }
    }

    async ValueTask<MailboxLocation?> IMailboxLocator.LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
        => (await LocateAsync(anchor, cancellationToken)).Location;

    /// <summary>Forgets every cached location of one mailbox.</summary>
    public void InvalidateMailbox(Guid mailbox) => _mailboxGenerations.AddOrUpdate(mailbox, 1, (_, g) => g + 1);

    /// <summary>Forgets every cached location in one database (its active copy moved).</summary>
    public void InvalidateDatabase(string database) => _databaseGenerations.AddOrUpdate(database, 1, (_, g) => g + 1);

    public void Dispose()
    {
        _store.Changed -= OnStoreChanged;
        _cache.Dispose();
    }

    /// <summary>The cached entry for <paramref name="anchor"/> if it is still current (fresh or stale), found without allocating.</summary>
    private CacheEntry? Cached(AnchorMailbox anchor, out bool fresh)
    {
        fresh = false;
        Span<char> key = anchor.Value.Length <= CacheKey.StackLength ? stackalloc char[CacheKey.StackLength] : new char[anchor.Value.Length];
        if (!_cache.TryGetValue(CacheKey.Format(anchor, key), out var value) || value is not CacheEntry entry || !IsCurrent(entry))
        {
            return null;
        }
        fresh = entry.FreshUntil > _clock.GetUtcNow();
        return entry;
    }

    private async Task<MailboxLocation?> FetchAsync(string key, AnchorMailbox anchor)
    {
        try
        {
            // Detach the anchor from the request's buffers: the store call may outlive the first requester.
            var owned = anchor with { Value = anchor.Address.AsMemory() };
            var epoch = Interlocked.Read(ref _epoch);
            MailboxLocation? location;
            try
            {
                location = await _pipeline.ExecuteAsync(static (state, ct) => state.Store.LocateAsync(state.Anchor, ct), (Store: _store, Anchor: owned));
            }
            catch (Exception ex) when (ex is BrokenCircuitException or TimeoutRejectedException)
            {
                throw new LocatorUnavailableException(ex is BrokenCircuitException ? "the directory is failing (circuit open)" : "the directory did not answer in time", ex);
            }
            var now = _clock.GetUtcNow();
            var lifetime = location is null ? _options.NegativeTimeToLive : _options.TimeToLive;
            var entry = location is null
                ? new CacheEntry(null, now + lifetime, epoch, 0, 0)
                : new CacheEntry(location, now + lifetime, epoch, DatabaseGeneration(location), Generation(_mailboxGenerations, location.Mailbox.Guid));
            var keep = location is null ? lifetime : lifetime + _resilience.StalePeriod;
            if (keep > TimeSpan.Zero)
            {
                _cache.Set(key, entry, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = keep, Size = 1 });
            }
            return location;
        }
        finally
        {
            // Cached first, then released: a request arriving in between finds one or the other.
            _inflight.TryRemove(key, out _);
        }
    }

    private static ResiliencePipeline BuildPipeline(LocatorResilienceOptions options, TimeProvider clock)
    {
        var failures = new PredicateBuilder().Handle<LocatorUnavailableException>().Handle<TimeoutRejectedException>();
        var builder = new ResiliencePipelineBuilder { TimeProvider = clock };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = failures,
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = failures,
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
            })
            .AddTimeout(options.Timeout)
            .Build();
    }

    private bool IsCurrent(CacheEntry entry)
        => entry.Epoch == Interlocked.Read(ref _epoch)
            && (entry.Location is null
            || (DatabaseGeneration(entry.Location) == entry.DatabaseGeneration
                && Generation(_mailboxGenerations, entry.Location.Mailbox.Guid) == entry.MailboxGeneration));

    private long DatabaseGeneration(MailboxLocation location)
        => location.Database is { } database ? Generation(_databaseGenerations, database.Name) : 0;

    private static long Generation<TKey>(ConcurrentDictionary<TKey, long> generations, TKey key)
        where TKey : notnull
        => generations.TryGetValue(key, out var generation) ? generation : 0;

    /// <summary>The store changed as a whole (e.g. the directory file was edited): every entry is stale.</summary>
    private void OnStoreChanged()
    {
        Interlocked.Increment(ref _epoch);
        _cache.Compact(1.0);
        Changed?.Invoke();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Locator unavailable: serving the last known location of {Anchor} ({Server})")]
    private static partial void LogStale(ILogger logger, string anchor, string server);

    private sealed record CacheEntry(MailboxLocation? Location, DateTimeOffset FreshUntil, long Epoch, long DatabaseGeneration, long MailboxGeneration);

    /// <summary>
    /// The cache key of an anchor, as text so that a hit is looked up from a stack buffer (the cache's span lookup):
    /// an SMTP address in lower case, or <c>mailbox:</c>/<c>oab:</c> and the GUID. An SMTP anchor never holds a
    /// colon, so the kinds cannot collide.
    /// </summary>
    private static class CacheKey
    {
        /// <summary>Longest key formatted on the stack: any parsed anchor (a longer one gets a heap buffer).</summary>
        public const int StackLength = AnchorMailbox.MaxLength;

        public static string Of(AnchorMailbox anchor) => new(Format(anchor, new char[Math.Max(anchor.Value.Length, StackLength)]));

        /// <summary>The key in <paramref name="buffer"/>, which holds at least the anchor's length and a GUID key.</summary>
        public static ReadOnlySpan<char> Format(AnchorMailbox anchor, Span<char> buffer)
        {
            if (anchor.Kind == AnchorKind.Smtp)
            {
                var length = anchor.Value.Span.ToLowerInvariant(buffer);
                return buffer[..length];
            }
            var prefix = anchor.Kind == AnchorKind.MailboxGuid ? "mailbox:" : "oab:";
            prefix.CopyTo(buffer);
            anchor.MailboxGuid.TryFormat(buffer[prefix.Length..], out var written, "D");
            return buffer[..(prefix.Length + written)];
        }
    }
}
