using CasGateway.Observability;

namespace CasGateway.Health;

/// <summary>Feeds <c>casgateway.component.state</c>: every component's effective state, at start and on each change.</summary>
internal sealed class ComponentStateMetrics(ComponentStateStore store, GatewayMetrics metrics) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        store.Changed += Publish;
        Publish();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        store.Changed -= Publish;
        return Task.CompletedTask;
    }

    private void Publish()
    {
        foreach (var component in ServerComponents.All)
        {
            metrics.SetComponentState(component.ToString(), store.EffectiveState(component) switch
            {
                ComponentState.Active => ComponentHealth.Active,
                ComponentState.Draining => ComponentHealth.Draining,
                _ => ComponentHealth.Inactive,
            });
        }
    }
}
