using CasGateway.Configuration;
using CasGateway.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CasGateway.Tests.Health;

/// <summary>A state store and drain coordinator on a temp folder and a fake clock: no sockets, no waiting.</summary>
public sealed class HealthFixtures : IDisposable
{
    public HealthFixtures(TimeSpan? grace = null, Action<HealthOptions>? configure = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "casgw-health-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        Options = new HealthOptions { StateFile = Path.Combine(Folder, "states.json"), DrainGracePeriod = grace ?? TimeSpan.FromSeconds(10) };
        configure?.Invoke(Options);
    }

    public string Folder { get; }

    public HealthOptions Options { get; }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    public LongLivedRequestRegistry LongLived { get; } = new();

    public ComponentStateStore NewStore() => new(
        Microsoft.Extensions.Options.Options.Create(Options),
        Microsoft.Extensions.Options.Options.Create(new GatewayOptions { DataPath = Folder }),
        new HostingEnvironment { ContentRootPath = Folder },
        Clock,
        NullLogger<ComponentStateStore>.Instance);

    public DrainCoordinator NewCoordinator(ComponentStateStore store) => new(
        store, LongLived, new ClientConnectionRegistry(), Microsoft.Extensions.Options.Options.Create(Options), Clock, NullLogger<DrainCoordinator>.Instance);

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
