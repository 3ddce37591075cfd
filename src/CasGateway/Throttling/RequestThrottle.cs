using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Health;
using CasGateway.Routing;
using Microsoft.Extensions.Options;

namespace CasGateway.Throttling;

/// <summary>
/// The gateway's global ASP.NET Core rate limiter: a request of a protocol family takes one concurrency slot of its
/// user (or anonymous source address), one long-lived slot if it is a long poll, and one count in the user's window.
/// Concurrency is per node (it protects the node); the window count is shared through <see cref="IThrottleCounterStore"/>.
/// Requests outside the protocol families (probes, metrics, admin) are never limited.
/// </summary>
public sealed class RequestThrottle(IOptionsMonitor<ThrottlingOptions> options, IThrottleCounterStore counters) : PartitionedRateLimiter<HttpContext>
{
    private static readonly RateLimitLease Unlimited = new Lease(true, null, null);
    private static readonly RateLimitLease NeedsCheck = new Lease(false, null, null);

    private readonly ConcurrentDictionary<string, StrongBox> _inFlight = new(StringComparer.Ordinal);

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    /// <summary>The synchronous path cannot ask the shared counter: it admits unlimited requests and defers the rest to <see cref="AcquireAsyncCore"/>.</summary>
    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
        => Classify(resource) is null ? Unlimited : NeedsCheck;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken)
    {
        if (Classify(resource) is not { } request)
        {
            return Unlimited;
        }
        var policy = request.Policy;
        var concurrent = Take(request.Key, policy.ConcurrentRequests);
        if (concurrent is null)
        {
            return Refused(TimeSpan.FromSeconds(1), "ConcurrentRequests");
        }
        StrongBox? longLived = null;
        if (request.LongLived)
        {
            longLived = Take(request.Key + "|long", policy.ConcurrentLongLived);
            if (longLived is null)
            {
                Release(concurrent);
                return Refused(TimeSpan.FromSeconds(30), "ConcurrentLongLived");
            }
        }
        if (policy.RequestsPerWindow is { } budget)
        {
            var window = await counters.IncrementAsync(request.Key, policy.Window, cancellationToken);
            if (window.Count > budget)
            {
                Release(concurrent);
                Release(longLived);
                return Refused(window.ResetsIn, "RequestsPerWindow");
            }
        }
        return new Lease(true, null, () =>
        {
            Release(concurrent);
            Release(longLived);
        });
    }

    private ThrottledRequest? Classify(HttpContext context)
    {
        var settings = options.CurrentValue;
        if (!settings.Enabled || context.Features.Get<IGatewayRequestFeature>()?.Family is not { } family)
        {
            return null;
        }
        var user = GatewayClaims.AddressOf(context.User);
        var policy = user is null ? settings.Anonymous : settings.Families.GetValueOrDefault(family.ToString()) ?? settings.Default;
        if (policy.RequestsPerWindow is null && policy.ConcurrentRequests is null && policy.ConcurrentLongLived is null)
        {
            return null;
        }
        var who = user is null ? "a:" + context.Connection.RemoteIpAddress : "u:" + user.ToLowerInvariant();
        return new ThrottledRequest(family + "|" + who, policy, LongLivedRequests.KindOf(context, family) is not null);
    }

    private StrongBox? Take(string key, int? limit)
    {
        if (limit is not { } max)
        {
            return NoSlot;
        }
        if (_inFlight.Count > MaxTrackedKeys)
        {
            Sweep();
        }
        var box = _inFlight.GetOrAdd(key, static _ => new StrongBox());
        if (Interlocked.Increment(ref box.Value) > max)
        {
            Interlocked.Decrement(ref box.Value);
            return null;
        }
        return box;
    }

    /// <summary>Taken for a limit that is not set: nothing to count, nothing to release.</summary>
    private static readonly StrongBox NoSlot = new();

    private const int MaxTrackedKeys = 50_000;

    /// <summary>
    /// Forgets idle users. A request that took a box just as it was removed counts on a detached box, so for the
    /// length of that request its user may have one more in flight than the limit: acceptable for a memory bound.
    /// </summary>
    private void Sweep()
    {
        foreach (var (key, box) in _inFlight)
        {
            if (Volatile.Read(ref box.Value) == 0)
            {
                _inFlight.TryRemove(new KeyValuePair<string, StrongBox>(key, box));
            }
        }
    }

    private static void Release(StrongBox? box)
    {
        if (box is not null && !ReferenceEquals(box, NoSlot))
        {
            Interlocked.Decrement(ref box.Value);
        }
    }

    private static Lease Refused(TimeSpan retryAfter, string limit) => new(false, retryAfter, null) { Limit = limit };

    private sealed record ThrottledRequest(string Key, ThrottlePolicy Policy, bool LongLived);

    private sealed class StrongBox
    {
        public int Value;
    }

    /// <summary>A lease that frees its slots once, when the request ends.</summary>
    private sealed class Lease(bool acquired, TimeSpan? retryAfter, Action? release) : RateLimitLease
    {
        private Action? _release = release;

        public string? Limit { get; init; }

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name, ThrottleLimitName];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : metadataName == ThrottleLimitName ? Limit : null;
            return metadata is not null;
        }

        protected override void Dispose(bool disposing)
        {
            Interlocked.Exchange(ref _release, null)?.Invoke();
        }
    }

    /// <summary>Lease metadata naming the limit a refused request hit (<c>RequestsPerWindow</c>, <c>ConcurrentRequests</c>, …).</summary>
    public const string ThrottleLimitName = "CasGateway.ThrottleLimit";
}
