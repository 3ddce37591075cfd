using CasGateway.Anchoring;
using CasGateway.Location;
using CasGateway.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace CasGateway.Health;

/// <summary>
/// The locator's store answers a lookup (an unknown mailbox is a fine answer) within the probe timeout. It asks the
/// store itself, not the cache: a cached "no such mailbox" would hide a store that stopped answering.
/// </summary>
public sealed class LocatorHealthCheck([FromKeyedServices(LocationStage.StoreKey)] IMailboxLocator locator, ILocatorStore store, IOptions<HealthOptions> options) : IHealthCheck
{
    private static readonly AnchorMailbox Probe = AnchorMailbox.ForSmtp("healthcheck-probe@casgateway.invalid");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var timeout = options.Value.ProbeTimeout;
        try
        {
            await locator.LocateAsync(Probe, cancellationToken).AsTask().WaitAsync(timeout, cancellationToken);
            return HealthCheckResult.Healthy("answering", Store());
        }
        catch (LocatorUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy("unavailable: " + ex.Message, data: Store());
        }
        catch (TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"no answer within {timeout.TotalSeconds:0.###} s", data: Store());
        }
    }

    /// <summary>Which store answered (<c>Gateway:Locator:Kind</c> and where), read after the call: failover shows.</summary>
    private Dictionary<string, object> Store() => new() { ["store"] = store.StoreName };
}

/// <summary>
/// At least one mailbox server is available as YARP sees it: not marked unhealthy by its active probes (the
/// backends' health URL over the mutual-TLS channel) nor by live traffic (passive). A destination not probed yet
/// counts as available, as YARP routes to it. Reads memory only; no request reaches a backend from here.
/// </summary>
public sealed class BackendHealthCheck(IProxyStateLookup proxy) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var destinations = proxy.TryGetCluster(RouteMetadata.MailboxCluster, out var cluster)
            ? cluster.DestinationsState.AllDestinations
            : [];
        if (destinations.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the directory lists no mailbox server"));
        }
        var data = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var destination in destinations)
        {
            var health = destination.Health;
            data[destination.DestinationId] = (ServerHealth.IsMarkedUnhealthy(destination) ? "unreachable" : "reachable")
                + $" (active probe: {health.Active}, live traffic: {health.Passive})";
        }
        var reachable = destinations.Count(d => !ServerHealth.IsMarkedUnhealthy(d));
        var summary = $"{reachable} of {destinations.Count} mailbox server(s) reachable";
        return Task.FromResult(reachable == 0 ? HealthCheckResult.Unhealthy(summary, data: data)
            : reachable < destinations.Count ? HealthCheckResult.Degraded(summary, data: data)
            : HealthCheckResult.Healthy(summary, data));
    }
}
