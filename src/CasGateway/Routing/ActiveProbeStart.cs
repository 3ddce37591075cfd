using CasGateway.Forwarding;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Health;

namespace CasGateway.Routing;

/// <summary>
/// Starts YARP's active probes of the mailbox servers when the gateway starts, not when its routes are built: YARP
/// probes the moment it loads its configuration, which is before any hosted service runs, so in-process servers
/// (the demo's) were probed before they listened and every start logged their failures. Hosted services start in
/// stage order, so those servers listen by now; the first round runs here, before the listeners open, and the
/// readiness report that follows already knows every server.
/// </summary>
public sealed class ActiveProbeStart(
    MailboxServerConfigProvider servers,
    IProxyStateLookup proxy,
    IActiveHealthCheckMonitor monitor,
    IOptions<BackendOptions> backend) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!backend.Value.Health.ActiveEnabled)
        {
            return;
        }
        await servers.EnableActiveProbesAsync(cancellationToken);
        await monitor.CheckHealthAsync(proxy.GetClusters().Where(c => c.ClusterId == RouteMetadata.MailboxCluster)).WaitAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
