using BenchmarkDotNet.Attributes;
using CasGateway.Anchoring;
using System.Diagnostics.Metrics;
using CasGateway.Location;
using CasGateway.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CasGateway.Micro;

/// <summary>
/// A lookup answered by <see cref="MailboxLocationCache"/> (the hot path of every routed request: the mailbox was
/// located before). Issue 23 goal: at most 1 µs and no allocation.
/// </summary>
[MemoryDiagnoser]
public class LocationCacheBenchmarks
{
    private MailboxLocationCache _cache = null!;
    private ServiceProvider _services = null!;
    private AnchorMailbox _smtp;
    private AnchorMailbox _smtpMixedCase;
    private AnchorMailbox _guid;

    [GlobalSetup]
    public void Setup()
    {
        var location = Fixtures.Location();
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GatewayMetrics(_services.GetRequiredService<IMeterFactory>());
        _cache = new MailboxLocationCache(new OneMailboxStore(location), Options.Create(new LocatorOptions()), TimeProvider.System, metrics, NullLogger<MailboxLocationCache>.Instance);
        // Anchors as the resolver makes them: slices of the header or query they came from.
        _smtp = Slice("X-AnchorMailbox: alice@contoso.com", 17);
        _smtpMixedCase = Slice("X-AnchorMailbox: Alice@Contoso.COM", 17);
        _guid = Slice($"?MailboxId={location.Mailbox.Guid}@contoso.com", 11);
        foreach (var anchor in new[] { _smtp, _guid })
        {
            if (_cache.LocateAsync(anchor, CancellationToken.None).AsTask().Result.Location is null)
            {
                throw new InvalidOperationException("the store did not find the benchmark mailbox");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cache.Dispose();
        _services.Dispose();
    }

    [Benchmark(Baseline = true)]
    public MailboxLocation? CachedSmtp() => Hit(_smtp);

    [Benchmark]
    public MailboxLocation? CachedSmtpOtherCase() => Hit(_smtpMixedCase);

    [Benchmark]
    public MailboxLocation? CachedMailboxGuid() => Hit(_guid);

    private MailboxLocation? Hit(AnchorMailbox anchor)
    {
        var pending = _cache.LocateAsync(anchor, CancellationToken.None);
        if (!pending.IsCompletedSuccessfully || !pending.Result.FromCache)
        {
            throw new InvalidOperationException("not answered from the cache");
        }
        return pending.Result.Location;
    }

    private static AnchorMailbox Slice(string source, int start)
        => AnchorMailbox.TryParse(source.AsMemory(start), out var anchor) ? anchor.Value : throw new InvalidOperationException(source);

    /// <summary>The store behind the cache: knows one mailbox, by address (any case) or GUID.</summary>
    private sealed class OneMailboxStore(MailboxLocation location) : IMailboxLocator
    {
        public IReadOnlyList<MailboxServer> Servers { get; } = [location.Server!];

        public event Action? Changed { add { } remove { } }

        public ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
            => ValueTask.FromResult(anchor.MailboxGuid == location.Mailbox.Guid || anchor.SameAs(location.Mailbox.PrimarySmtpAddress) ? location : null);
    }
}
