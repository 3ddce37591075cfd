using System.Collections.Concurrent;
using CasGateway.Anchoring;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CasGateway.Location;

/// <summary>
/// The bounded cache every lookup goes through: positive and short negative entries, invalidation of one mailbox or
/// one database, and one store call for any number of concurrent misses of the same anchor.
/// </summary>
public sealed class MailboxLocationCache : IDisposable
{
    private readonly IMailboxLocator _store;
    private readonly LocatorCacheOptions _options;
    private readonly ConcurrentDictionary<CacheKey, Lazy<Task<MailboxLocation?>>> _inflight = new();
    private readonly ConcurrentDictionary<string, long> _databaseGenerations = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Guid, long> _mailboxGenerations = new();
    private readonly MemoryCache _cache;
    private long _epoch;

    public MailboxLocationCache(IMailboxLocator store, IOptions<LocatorOptions> options)
    {
        _store = store;
        _options = options.Value.Cache;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.SizeLimit });
        _store.Changed += Clear;
    }

    public IMailboxLocator Store => _store;

    /// <summary>Resolves through the cache; see <see cref="IMailboxLocator.LocateAsync"/>.</summary>
    /// <returns>The location and whether the cache answered.</returns>
    public async ValueTask<(MailboxLocation? Location, bool FromCache)> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        var key = CacheKey.Of(anchor);
        if (_cache.TryGetValue(key, out CacheEntry? entry) && entry is not null && IsCurrent(entry))
        {
            return (entry.Location, true);
        }
        var call = _inflight.GetOrAdd(key, k => new Lazy<Task<MailboxLocation?>>(() => FetchAsync(k, anchor)));
        return (await call.Value.WaitAsync(cancellationToken), false);
    }

    /// <summary>Forgets every cached location of one mailbox.</summary>
    public void InvalidateMailbox(Guid mailbox) => _mailboxGenerations.AddOrUpdate(mailbox, 1, (_, g) => g + 1);

    /// <summary>Forgets every cached location in one database (its active copy moved).</summary>
    public void InvalidateDatabase(string database) => _databaseGenerations.AddOrUpdate(database, 1, (_, g) => g + 1);

    public void Dispose()
    {
        _store.Changed -= Clear;
        _cache.Dispose();
    }

    private async Task<MailboxLocation?> FetchAsync(CacheKey key, AnchorMailbox anchor)
    {
        try
        {
            // Detach the anchor from the request's buffers: the store call may outlive the first requester.
            var owned = anchor with { Value = anchor.Address.AsMemory() };
            var epoch = Interlocked.Read(ref _epoch);
            var location = await _store.LocateAsync(owned, CancellationToken.None);
            var entry = location is null
                ? new CacheEntry(null, epoch, 0, 0)
                : new CacheEntry(location, epoch, Generation(_databaseGenerations, location.Database.Name), Generation(_mailboxGenerations, location.Mailbox.Guid));
            var lifetime = location is null ? _options.NegativeTimeToLive : _options.TimeToLive;
            if (lifetime > TimeSpan.Zero)
            {
                _cache.Set(key, entry, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = lifetime, Size = 1 });
            }
            return location;
        }
        finally
        {
            // Cached first, then released: a request arriving in between finds one or the other.
            _inflight.TryRemove(key, out _);
        }
    }

    private bool IsCurrent(CacheEntry entry)
        => entry.Epoch == Interlocked.Read(ref _epoch)
            && (entry.Location is null
            || (Generation(_databaseGenerations, entry.Location.Database.Name) == entry.DatabaseGeneration
                && Generation(_mailboxGenerations, entry.Location.Mailbox.Guid) == entry.MailboxGeneration));

    private static long Generation<TKey>(ConcurrentDictionary<TKey, long> generations, TKey key)
        where TKey : notnull
        => generations.TryGetValue(key, out var generation) ? generation : 0;

    /// <summary>The store changed as a whole (e.g. the directory file was edited): every entry is stale.</summary>
    private void Clear()
    {
        Interlocked.Increment(ref _epoch);
        _cache.Compact(1.0);
    }

    private sealed record CacheEntry(MailboxLocation? Location, long Epoch, long DatabaseGeneration, long MailboxGeneration);

    private readonly record struct CacheKey(AnchorKind Kind, Guid Guid, string? Address)
    {
        public static CacheKey Of(AnchorMailbox anchor) => anchor.Kind == AnchorKind.Smtp
            ? new CacheKey(anchor.Kind, Guid.Empty, anchor.Address.ToLowerInvariant())
            : new CacheKey(anchor.Kind, anchor.MailboxGuid, null);
    }
}
