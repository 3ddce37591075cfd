using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.TestSupport;

/// <summary>Wraps the gateway's directory store to count (and optionally slow down or fail) locator calls.</summary>
public sealed class CountingLocator(IMailboxLocator inner) : IMailboxLocator
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Added to every call, to make concurrent misses overlap.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>While set, every call fails as an unreachable store would.</summary>
    public bool Unavailable { get; set; }

    public IReadOnlyList<MailboxServer> Servers => inner.Servers;

    public event Action? Changed
    {
        add => inner.Changed += value;
        remove => inner.Changed -= value;
    }

    public async ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }
        if (Unavailable)
        {
            throw new LocatorUnavailableException("test: store unreachable");
        }
        return await inner.LocateAsync(anchor, cancellationToken);
    }

    /// <summary>
    /// Registers a counting wrapper around the directory store, behind the gateway's cache as the real store is;
    /// returns a handle filled when the host builds.
    /// </summary>
    public static Func<CountingLocator> Install(IServiceCollection services)
    {
        CountingLocator? instance = null;
        services.AddSingleton<DirectoryFileLocator>();
        services.AddKeyedSingleton<IMailboxLocator>(LocationStage.StoreKey, (sp, _) => instance = new CountingLocator(sp.GetRequiredService<DirectoryFileLocator>()));
        return () => instance ?? throw new InvalidOperationException("The gateway has not resolved its locator yet.");
    }
}
