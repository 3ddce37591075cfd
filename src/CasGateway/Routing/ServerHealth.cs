using CasGateway.Location;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Routing;

/// <summary>
/// YARP's view of the mailbox servers (active probes and passive failures), as the planner and the proxy steps
/// read it: the cluster's destinations, one per directory server, keyed by FQDN.
/// </summary>
public readonly struct ServerHealth(IReadOnlyList<DestinationState> destinations)
{
    public IReadOnlyList<DestinationState> Destinations => destinations ?? [];

    /// <summary>Known to YARP and not marked unhealthy by either check.</summary>
    public bool IsHealthy(MailboxServer server) => Find(server.Fqdn) is { } destination && !IsMarkedUnhealthy(destination);

    public DestinationState? Find(string fqdn)
    {
        foreach (var destination in Destinations)
        {
            if (string.Equals(destination.DestinationId, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return destination;
            }
        }
        return null;
    }

    public static bool IsMarkedUnhealthy(DestinationState destination)
        => destination.Health.Active == DestinationHealth.Unhealthy || destination.Health.Passive == DestinationHealth.Unhealthy;
}
