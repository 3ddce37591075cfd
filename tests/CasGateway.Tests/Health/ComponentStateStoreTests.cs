using CasGateway.Health;

namespace CasGateway.Tests.Health;

public sealed class ComponentStateStoreTests : IDisposable
{
    private readonly HealthFixtures _fixtures = new();

    public void Dispose() => _fixtures.Dispose();

    [Fact]
    public void A_component_is_as_bad_as_its_worst_hold_and_active_releases_only_that_requester()
    {
        var store = _fixtures.NewStore();
        store.Set(ServerComponent.Owa, ComponentState.Draining, StateRequester.HealthApi, "flapping", "probe");
        store.Set(ServerComponent.Owa, ComponentState.Inactive, StateRequester.Maintenance, "patching", "ops");
        Assert.Equal(ComponentState.Inactive, store.EffectiveState(ServerComponent.Owa));

        store.Set(ServerComponent.Owa, ComponentState.Active, StateRequester.Maintenance, "done", "ops");
        Assert.Equal(ComponentState.Draining, store.EffectiveState(ServerComponent.Owa));
        var hold = Assert.Single(store.HoldsOf(ServerComponent.Owa));
        Assert.Equal((StateRequester.HealthApi, "flapping", "probe"), (hold.Requester, hold.Reason, hold.ChangedBy));

        store.Set(ServerComponent.Owa, ComponentState.Active, StateRequester.HealthApi, "steady", "probe");
        Assert.Equal(ComponentState.Active, store.EffectiveState(ServerComponent.Owa));
        Assert.Empty(store.HoldsOf(ServerComponent.Owa));
    }

    [Fact]
    public void The_node_being_offline_makes_every_protocol_at_least_as_bad_without_changing_their_own_state()
    {
        var store = _fixtures.NewStore();
        store.Set(ServerComponent.Ews, ComponentState.Inactive, StateRequester.Maintenance, "x", "ops");
        store.Set(ServerComponent.ServerWideOffline, ComponentState.Draining, StateRequester.Deployment, "upgrade", "ops");

        Assert.Equal(ComponentState.Draining, store.EffectiveState(ServerComponent.Owa));
        Assert.Equal(ComponentState.Active, store.OwnState(ServerComponent.Owa));
        Assert.Equal(ComponentState.Inactive, store.EffectiveState(ServerComponent.Ews));
        Assert.Equal(ComponentState.Draining, store.EffectiveState(ServerComponent.Imap));
    }

    [Fact]
    public void Persistent_holds_survive_a_new_store_and_transient_ones_do_not()
    {
        var first = _fixtures.NewStore();
        first.Set(ServerComponent.Mapi, ComponentState.Inactive, StateRequester.Maintenance, "disk swap", "ops@contoso.com");
        first.Set(ServerComponent.ServerWideOffline, ComponentState.Draining, StateRequester.Deployment, "SIGTERM", "SIGTERM", persistent: false);

        var second = _fixtures.NewStore();

        Assert.Equal(ComponentState.Inactive, second.EffectiveState(ServerComponent.Mapi));
        var hold = Assert.Single(second.HoldsOf(ServerComponent.Mapi));
        Assert.Equal(("disk swap", "ops@contoso.com", _fixtures.Clock.GetUtcNow()), (hold.Reason, hold.ChangedBy, hold.ChangedAt));
        Assert.Equal(ComponentState.Active, second.EffectiveState(ServerComponent.ServerWideOffline));
        Assert.False(File.Exists(_fixtures.Options.StateFile + ".tmp"));
    }

    [Fact]
    public void A_state_file_that_cannot_be_written_refuses_the_change_and_keeps_the_state()
    {
        var blocker = Path.Combine(_fixtures.Folder, "not-a-folder");
        File.WriteAllText(blocker, "");
        _fixtures.Options.StateFile = Path.Combine(blocker, "states.json");
        var store = _fixtures.NewStore();

        Assert.ThrowsAny<IOException>(() => store.Set(ServerComponent.Owa, ComponentState.Inactive, StateRequester.Maintenance, "x", "ops"));
        Assert.Equal(ComponentState.Active, store.EffectiveState(ServerComponent.Owa));
    }

    [Fact]
    public void Configured_initial_states_apply_only_while_there_is_no_state_file()
    {
        _fixtures.Options.Components["OabProxy"] = new() { ["Deployment"] = ComponentState.Inactive, ["HealthApi"] = ComponentState.Active };
        var store = _fixtures.NewStore();
        Assert.Equal(ComponentState.Inactive, store.EffectiveState(ServerComponent.Oab));
        Assert.Equal(StateRequester.Deployment, Assert.Single(store.HoldsOf(ServerComponent.Oab)).Requester);

        store.Set(ServerComponent.Oab, ComponentState.Active, StateRequester.Deployment, "deployed", "ops");
        Assert.Equal(ComponentState.Active, _fixtures.NewStore().EffectiveState(ServerComponent.Oab));
    }

    [Fact]
    public void A_corrupt_state_file_fails_loudly()
    {
        File.WriteAllText(_fixtures.Options.StateFile!, "{ \"holds\": [ { \"component\": \"Nope\" } ] }");
        var error = Assert.Throws<InvalidOperationException>(() => _fixtures.NewStore());
        Assert.Contains(_fixtures.Options.StateFile!, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Owa", ServerComponent.Owa)]
    [InlineData("owaproxy", ServerComponent.Owa)]
    [InlineData("ActiveSyncProxy", ServerComponent.ActiveSync)]
    [InlineData("serverwideoffline", ServerComponent.ServerWideOffline)]
    [InlineData("Smtp", ServerComponent.Smtp)]
    [InlineData("FrontendTransport", ServerComponent.Smtp)]
    public void Components_parse_by_name_with_or_without_the_proxy_suffix(string text, ServerComponent expected)
    {
        Assert.True(ServerComponents.TryParse(text, out var component));
        Assert.Equal(expected, component);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Proxy")]
    [InlineData("1")]
    [InlineData("-1")]
    [InlineData("HubTransport")]
    [InlineData(null)]
    public void Unknown_components_do_not_parse(string? text) => Assert.False(ServerComponents.TryParse(text, out _));
}
