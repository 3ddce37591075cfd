using CasGateway.Forwarding;
using CasGateway.Location;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Routing;

/// <summary>
/// Feeds YARP the mailbox servers as destinations of one cluster, from the locator, and refreshes them when the
/// directory changes. Routes come from appsettings; the proxy step keeps only the destination of the request's plan.
/// </summary>
public sealed class MailboxServerConfigProvider : IProxyConfigProvider, IDisposable
{
    private readonly IMailboxLocator _locator;
    private readonly BackendOptions _backend;
    private volatile Snapshot _snapshot;

    public MailboxServerConfigProvider(IMailboxLocator locator, IOptions<BackendOptions> backend)
    {
        _locator = locator;
        _backend = backend.Value;
        _snapshot = Build();
        _locator.Changed += OnChanged;
    }

    public IProxyConfig GetConfig() => _snapshot;

    public void Dispose() => _locator.Changed -= OnChanged;

    private void OnChanged()
    {
        var old = _snapshot;
        _snapshot = Build();
        old.SignalChange();
    }

    private Snapshot Build()
    {
        var destinations = _locator.Servers.ToDictionary(
            s => s.Fqdn,
            s => new DestinationConfig { Address = s.BackendUrl.ToString(), Host = null },
            StringComparer.OrdinalIgnoreCase);
        var cluster = new ClusterConfig
        {
            ClusterId = RouteMetadata.MailboxCluster,
            Destinations = destinations,
            HealthCheck = new HealthCheckConfig
            {
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = _backend.Health.ActiveEnabled,
                    Interval = _backend.Health.ActiveInterval,
                    Timeout = _backend.Health.ActiveTimeout,
                    Policy = "ConsecutiveFailures",
                    Path = _backend.Health.ActivePath,
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = _backend.Health.PassiveEnabled,
                    Policy = ClientErrorTolerantHealthPolicy.PolicyName,
                    ReactivationPeriod = _backend.Health.ReactivationPeriod,
                },
            },
            HttpRequest = new ForwarderRequestConfig
            {
                ActivityTimeout = _backend.ActivityTimeout,
                Version = _backend.UseHttp2 ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            },
        };
        return new Snapshot([cluster]);
    }

    private sealed class Snapshot(IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public IReadOnlyList<RouteConfig> Routes => [];

        public IReadOnlyList<ClusterConfig> Clusters => clusters;

        public IChangeToken ChangeToken => new CancellationChangeToken(_changed.Token);

        public void SignalChange() => _changed.Cancel();
    }
}
