using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>Where a component is in taking itself out of service.</summary>
public enum DrainPhase
{
    /// <summary>Active: healthy probes, requests served.</summary>
    Serving,

    /// <summary>Draining, within the grace period: probes fail, requests still served so balancers can notice.</summary>
    Draining,

    /// <summary>Draining, grace period over: long-lived requests ended, responses close their connections.</summary>
    Drained,

    /// <summary>Inactive: probes fail, requests refused with 503, long-lived requests ended at once.</summary>
    Inactive,
}

/// <summary>
/// Turns component states into drain phases and acts on them: when a component's grace period ends (or it goes
/// Inactive) its long-lived requests are ended, and for the whole node every client connection is asked to close.
/// </summary>
public sealed partial class DrainCoordinator : IDisposable
{
    private readonly ComponentStateStore _store;
    private readonly LongLivedRequestRegistry _longLived;
    private readonly ClientConnectionRegistry _connections;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _grace;
    private readonly ILogger<DrainCoordinator> _logger;
    private readonly Lock _gate = new();
    private readonly DrainPhase[] _phases = new DrainPhase[ServerComponents.All.Length];
    private volatile DrainPhase[] _published = new DrainPhase[ServerComponents.All.Length];
    private readonly DateTimeOffset?[] _since = new DateTimeOffset?[ServerComponents.All.Length];
    private readonly ITimer?[] _timers = new ITimer?[ServerComponents.All.Length];
    private readonly int[] _generations = new int[ServerComponents.All.Length];

    public DrainCoordinator(
        ComponentStateStore store,
        LongLivedRequestRegistry longLived,
        ClientConnectionRegistry connections,
        IOptions<HealthOptions> options,
        TimeProvider clock,
        ILogger<DrainCoordinator> logger)
    {
        _store = store;
        _longLived = longLived;
        _connections = connections;
        _clock = clock;
        _grace = options.Value.DrainGracePeriod;
        _logger = logger;
        _store.Changed += Recompute;
        Recompute();
    }

    public TimeSpan GracePeriod => _grace;

    public DrainPhase PhaseOf(ServerComponent component) => _published[(int)component];

    /// <summary>When the component left service in this process, or null while it serves.</summary>
    public DateTimeOffset? OutOfServiceSince(ServerComponent component)
    {
        lock (_gate)
        {
            return _since[(int)component];
        }
    }

    public void Dispose()
    {
        _store.Changed -= Recompute;
        lock (_gate)
        {
            foreach (var timer in _timers)
            {
                timer?.Dispose();
            }
        }
    }

    private void Recompute()
    {
        var toEnd = new List<ServerComponent>();
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            foreach (var component in ServerComponents.All)
            {
                var i = (int)component;
                var previous = _phases[i];
                var next = (_store.EffectiveState(component), previous) switch
                {
                    (ComponentState.Active, _) => DrainPhase.Serving,
                    (ComponentState.Draining, DrainPhase.Serving) => _grace > TimeSpan.Zero ? DrainPhase.Draining : DrainPhase.Drained,
                    (ComponentState.Draining, DrainPhase.Inactive) => DrainPhase.Drained,
                    (ComponentState.Draining, _) => previous,
                    _ => DrainPhase.Inactive,
                };
                if (next == previous)
                {
                    continue;
                }
                _timers[i]?.Dispose();
                _timers[i] = null;
                var generation = ++_generations[i];
                _since[i] = next == DrainPhase.Serving ? null : _since[i] ?? now;
                _phases[i] = next;
                if (next == DrainPhase.Draining)
                {
                    _timers[i] = _clock.CreateTimer(_ => OnGraceEnded(component, generation), null, _grace, Timeout.InfiniteTimeSpan);
                }
                if (next is DrainPhase.Drained or DrainPhase.Inactive && previous is DrainPhase.Serving or DrainPhase.Draining)
                {
                    toEnd.Add(component);
                }
                if (IsNotable(component))
                {
                    LogPhase(_logger, component, previous, next);
                }
            }
            _published = (DrainPhase[])_phases.Clone();
        }
        foreach (var component in toEnd)
        {
            EndWork(component);
        }
    }

    private void OnGraceEnded(ServerComponent component, int generation)
    {
        lock (_gate)
        {
            // A timer from an earlier drain of the same component may still fire after it was replaced.
            if (_phases[(int)component] != DrainPhase.Draining || _generations[(int)component] != generation)
            {
                return;
            }
            _phases[(int)component] = DrainPhase.Drained;
            _published = (DrainPhase[])_phases.Clone();
            if (IsNotable(component))
            {
                LogPhase(_logger, component, DrainPhase.Draining, DrainPhase.Drained);
            }
        }
        EndWork(component);
    }

    private void EndWork(ServerComponent component)
    {
        var ended = _longLived.EndAll(component);
        var asked = component == ServerComponent.ServerWideOffline ? _connections.RequestCloseAll() : 0;
        if (ended > 0 || IsNotable(component))
        {
            LogEnded(_logger, component, ended, asked);
        }
    }

    /// <summary>The node itself, or a protocol held down on its own: worth a log line (protocols merely following the node are not).</summary>
    private bool IsNotable(ServerComponent component)
        => component == ServerComponent.ServerWideOffline || _store.OwnState(component) != ComponentState.Active;

    [LoggerMessage(Level = LogLevel.Information, Message = "Component {Component}: {Previous} -> {Next}")]
    private static partial void LogPhase(ILogger logger, ServerComponent component, DrainPhase previous, DrainPhase next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component {Component} out of service: ended {LongLived} long-lived request(s), asked {Connections} client connection(s) to close")]
    private static partial void LogEnded(ILogger logger, ServerComponent component, int longLived, int connections);
}
