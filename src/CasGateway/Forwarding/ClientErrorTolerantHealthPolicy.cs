using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Forwarding;

/// <summary>
/// YARP's transport-failure-rate passive health, except that a request failed by the client's own input (see
/// <see cref="ForwardingFailures"/>) is not counted: no client can take a mailbox server out of rotation.
/// </summary>
public sealed class ClientErrorTolerantHealthPolicy(IServiceProvider services) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "GatewayTransportFailureRate";
    private const string InnerName = "TransportFailureRate";
    private IPassiveHealthCheckPolicy? _inner;

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        if (ForwardingFailures.IsClientError(context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>()))
        {
            return;
        }
        _inner ??= services.GetServices<IPassiveHealthCheckPolicy>().Single(p => p.Name == InnerName);
        _inner.RequestProxied(context, cluster, destination);
    }
}
