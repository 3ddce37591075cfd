using CasGateway.Observability;

namespace CasGateway.Health;

/// <summary>Keeps the <c>casgateway.component.state</c> gauge equal to every component's effective state.</summary>
internal static class ComponentStateMetrics
{
    public static void Follow(ComponentStateStore store, GatewayMetrics metrics)
    {
        void Report()
        {
            foreach (var component in Enum.GetValues<ServerComponent>())
            {
                metrics.SetComponentState(component.ToString(), store.EffectiveState(component) switch
                {
                    ComponentState.Active => ComponentHealth.Active,
                    ComponentState.Draining => ComponentHealth.Draining,
                    _ => ComponentHealth.Inactive,
                });
            }
        }

        Report();
        store.Changed += Report;
    }
}
