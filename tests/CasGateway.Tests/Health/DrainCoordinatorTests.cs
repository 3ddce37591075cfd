using CasGateway.Health;

namespace CasGateway.Tests.Health;

/// <summary>Drain phases on a fake clock: the grace period passes when the test says so.</summary>
public sealed class DrainCoordinatorTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);
    private readonly HealthFixtures _fixtures = new(Grace);

    public void Dispose() => _fixtures.Dispose();

    [Fact]
    public void Draining_serves_through_the_grace_period_then_ends_the_components_long_lived_requests()
    {
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var ping = _fixtures.LongLived.Register(ServerComponent.ActiveSync, "ActiveSyncPing", CancellationToken.None);
        using var rpc = _fixtures.LongLived.Register(ServerComponent.Rpc, "RpcOutData", CancellationToken.None);

        store.Set(ServerComponent.ActiveSync, ComponentState.Draining, StateRequester.Maintenance, "x", "ops");
        Assert.Equal(DrainPhase.Draining, drain.PhaseOf(ServerComponent.ActiveSync));
        Assert.Equal(_fixtures.Clock.GetUtcNow(), drain.OutOfServiceSince(ServerComponent.ActiveSync));

        _fixtures.Clock.Advance(Grace - TimeSpan.FromMilliseconds(1));
        Assert.False(ping.Token.IsCancellationRequested);

        _fixtures.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(DrainPhase.Drained, drain.PhaseOf(ServerComponent.ActiveSync));
        Assert.True(ping.Token.IsCancellationRequested);
        Assert.True(ping.EndedByDrain);
        Assert.False(rpc.Token.IsCancellationRequested);
        Assert.Equal(DrainPhase.Serving, drain.PhaseOf(ServerComponent.Rpc));
    }

    [Fact]
    public void Inactive_ends_long_lived_requests_at_once()
    {
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var wait = _fixtures.LongLived.Register(ServerComponent.Mapi, "MapiNotificationWait", CancellationToken.None);

        store.Set(ServerComponent.Mapi, ComponentState.Inactive, StateRequester.Maintenance, "x", "ops");

        Assert.Equal(DrainPhase.Inactive, drain.PhaseOf(ServerComponent.Mapi));
        Assert.True(wait.EndedByDrain);
    }

    [Fact]
    public void The_node_draining_ends_every_long_lived_request_at_the_end_of_its_grace_period()
    {
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var ping = _fixtures.LongLived.Register(ServerComponent.ActiveSync, "ActiveSyncPing", CancellationToken.None);
        using var socket = _fixtures.LongLived.Register(ServerComponent.Owa, "WebSocket", CancellationToken.None);

        store.Set(ServerComponent.ServerWideOffline, ComponentState.Draining, StateRequester.Deployment, "SIGTERM", "SIGTERM", persistent: false);
        Assert.All(ServerComponents.All, c => Assert.Equal(DrainPhase.Draining, drain.PhaseOf(c)));

        _fixtures.Clock.Advance(Grace);
        Assert.All(ServerComponents.All, c => Assert.Equal(DrainPhase.Drained, drain.PhaseOf(c)));
        Assert.True(ping.EndedByDrain && socket.EndedByDrain);
        Assert.Equal(2, _fixtures.LongLived.Count);
    }

    [Fact]
    public void Back_to_active_within_the_grace_period_ends_nothing_later_and_a_new_drain_starts_a_new_grace_period()
    {
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var ping = _fixtures.LongLived.Register(ServerComponent.ActiveSync, "ActiveSyncPing", CancellationToken.None);

        store.Set(ServerComponent.ActiveSync, ComponentState.Draining, StateRequester.Maintenance, "x", "ops");
        _fixtures.Clock.Advance(Grace / 2);
        store.Set(ServerComponent.ActiveSync, ComponentState.Active, StateRequester.Maintenance, "never mind", "ops");
        Assert.Equal(DrainPhase.Serving, drain.PhaseOf(ServerComponent.ActiveSync));
        Assert.Null(drain.OutOfServiceSince(ServerComponent.ActiveSync));

        store.Set(ServerComponent.ActiveSync, ComponentState.Draining, StateRequester.Maintenance, "again", "ops");
        _fixtures.Clock.Advance(Grace / 2);
        Assert.False(ping.EndedByDrain);
        Assert.Equal(DrainPhase.Draining, drain.PhaseOf(ServerComponent.ActiveSync));

        _fixtures.Clock.Advance(Grace / 2);
        Assert.True(ping.EndedByDrain);
    }

    [Fact]
    public void A_zero_grace_period_drains_at_once()
    {
        _fixtures.Options.DrainGracePeriod = TimeSpan.Zero;
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var ping = _fixtures.LongLived.Register(ServerComponent.ActiveSync, "ActiveSyncPing", CancellationToken.None);

        store.Set(ServerComponent.ActiveSync, ComponentState.Draining, StateRequester.Maintenance, "x", "ops");

        Assert.Equal(DrainPhase.Drained, drain.PhaseOf(ServerComponent.ActiveSync));
        Assert.True(ping.EndedByDrain);
    }

    [Fact]
    public void A_state_loaded_at_start_drains_from_the_start()
    {
        _fixtures.NewStore().Set(ServerComponent.Owa, ComponentState.Draining, StateRequester.Maintenance, "x", "ops");

        using var drain = _fixtures.NewCoordinator(_fixtures.NewStore());
        Assert.Equal(DrainPhase.Draining, drain.PhaseOf(ServerComponent.Owa));
        _fixtures.Clock.Advance(Grace);
        Assert.Equal(DrainPhase.Drained, drain.PhaseOf(ServerComponent.Owa));
    }

    [Fact]
    public void A_request_that_ended_on_its_own_is_not_counted_as_drained()
    {
        var store = _fixtures.NewStore();
        using var drain = _fixtures.NewCoordinator(store);
        using var client = new CancellationTokenSource();
        var ping = _fixtures.LongLived.Register(ServerComponent.ActiveSync, "ActiveSyncPing", client.Token);
        client.Cancel();
        Assert.True(ping.Token.IsCancellationRequested);
        ping.Dispose();

        store.Set(ServerComponent.ActiveSync, ComponentState.Inactive, StateRequester.Maintenance, "x", "ops");

        Assert.False(ping.EndedByDrain);
        Assert.Equal(0, _fixtures.LongLived.Count);
    }
}
