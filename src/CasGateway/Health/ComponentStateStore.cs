using System.Collections.Immutable;
using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>One requester's say on a component: what, who changed it, why and when.</summary>
public sealed record ComponentHold(
    StateRequester Requester,
    ComponentState State,
    string Reason,
    string ChangedBy,
    DateTimeOffset ChangedAt,
    bool Persistent = true);

/// <summary>
/// The component states of this node. Each component carries holds, one per requester; its own state is the worst
/// hold (none = Active), and a protocol's effective state is the worse of its own and <c>ServerWideOffline</c>'s.
/// Reads are lock-free snapshots; changes are saved to the state file before they take effect, and logged.
/// </summary>
public sealed partial class ComponentStateStore
{
    private readonly Lock _gate = new();
    private readonly ComponentStateFile _file;
    private readonly TimeProvider _clock;
    private readonly ILogger<ComponentStateStore> _logger;
    private volatile Snapshot _snapshot;

    public ComponentStateStore(
        IOptions<HealthOptions> options,
        IOptions<GatewayOptions> gateway,
        IHostEnvironment environment,
        TimeProvider clock,
        ILogger<ComponentStateStore> logger)
    {
        _clock = clock;
        _logger = logger;
        var path = options.Value.StateFile is { } configured
            ? Path.GetFullPath(configured, environment.ContentRootPath)
            : Path.Combine(environment.ResolveDataPath(gateway.Value), "component-states.json");
        _file = new ComponentStateFile(path);
        var holds = _file.Load() ?? FromConfiguration(options.Value, clock.GetUtcNow());
        _snapshot = new Snapshot(holds);
        foreach (var (component, held) in holds)
        {
            foreach (var hold in held.Values)
            {
                LogLoaded(_logger, component, hold.Requester, hold.State, hold.ChangedBy, hold.Reason);
            }
        }
    }

    /// <summary>Signalled after every change, outside the store's lock.</summary>
    public event Action? Changed;

    public string StateFilePath => _file.Path;

    /// <summary>The state a component is served in: its own, made worse by <c>ServerWideOffline</c>'s.</summary>
    public ComponentState EffectiveState(ServerComponent component) => _snapshot.Effective[(int)component];

    /// <summary>The component's own state, without <c>ServerWideOffline</c>.</summary>
    public ComponentState OwnState(ServerComponent component) => _snapshot.Own[(int)component];

    public IReadOnlyCollection<ComponentHold> HoldsOf(ServerComponent component)
        => _snapshot.Holds.TryGetValue(component, out var held) ? held.Values.ToList() : [];

    /// <summary>
    /// Records <paramref name="requester"/>'s state for <paramref name="component"/> (Active releases its hold).
    /// Persistent changes are written to the state file first; an I/O failure leaves the state as it was.
    /// </summary>
    /// <exception cref="IOException">The state file could not be written.</exception>
    public void Set(ServerComponent component, ComponentState state, StateRequester requester, string reason, string changedBy, bool persistent = true)
    {
        lock (_gate)
        {
            var current = _snapshot.Holds;
            var held = current.GetValueOrDefault(component) ?? ImmutableDictionary<StateRequester, ComponentHold>.Empty;
            held = state == ComponentState.Active
                ? held.Remove(requester)
                : held.SetItem(requester, new ComponentHold(requester, state, reason, changedBy, _clock.GetUtcNow(), persistent));
            var next = held.IsEmpty ? current.Remove(component) : current.SetItem(component, held);
            if (persistent || current.GetValueOrDefault(component)?.GetValueOrDefault(requester)?.Persistent == true)
            {
                _file.Save(next);
            }
            _snapshot = new Snapshot(next);
            LogChanged(_logger, component, requester, state, changedBy, reason, _snapshot.Effective[(int)component]);
        }
        Changed?.Invoke();
    }

    private static ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>> FromConfiguration(HealthOptions options, DateTimeOffset now)
    {
        var holds = ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>>.Empty;
        foreach (var (name, requesters) in options.Components)
        {
            ServerComponents.TryParse(name, out var component);
            foreach (var (requesterName, state) in requesters)
            {
                ServerComponents.TryParseName<StateRequester>(requesterName, out var requester);
                if (state == ComponentState.Active)
                {
                    continue;
                }
                var held = holds.GetValueOrDefault(component!.Value) ?? ImmutableDictionary<StateRequester, ComponentHold>.Empty;
                holds = holds.SetItem(component.Value, held.SetItem(requester, new ComponentHold(requester, state, "initial state from configuration", "configuration", now)));
            }
        }
        return holds;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component {Component}: {Requester} holds it {State} (set by {ChangedBy}: {Reason})")]
    private static partial void LogLoaded(ILogger logger, ServerComponent component, StateRequester requester, ComponentState state, string changedBy, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Component {Component}: {Requester} set {State} by {ChangedBy}: {Reason}; now {Effective}")]
    private static partial void LogChanged(ILogger logger, ServerComponent component, StateRequester requester, ComponentState state, string changedBy, string reason, ComponentState effective);

    private sealed class Snapshot
    {
        public Snapshot(ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>> holds)
        {
            Holds = holds;
            Own = new ComponentState[ServerComponents.All.Length];
            Effective = new ComponentState[ServerComponents.All.Length];
            foreach (var (component, held) in holds)
            {
                Own[(int)component] = held.Values.Max(h => h.State);
            }
            var node = Own[(int)ServerComponent.ServerWideOffline];
            for (var i = 0; i < Own.Length; i++)
            {
                Effective[i] = Own[i] > node ? Own[i] : node;
            }
        }

        public ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>> Holds { get; }

        public ComponentState[] Own { get; }

        public ComponentState[] Effective { get; }
    }
}
