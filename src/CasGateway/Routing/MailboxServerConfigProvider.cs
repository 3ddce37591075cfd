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
/// Active probes are off in the configuration YARP loads while the routes are built and turned on by
/// <see cref="ActiveProbeStart"/> when the gateway starts (see there why).
/// </summary>
public sealed class MailboxServerConfigProvider : IProxyConfigProvider, IConfigChangeListener, IDisposable
{
    private readonly IMailboxLocator _locator;
    private readonly BackendOptions _backend;
    private readonly TaskCompletionSource _probesApplied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _activeProbes;
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

    /// <summary>Turns on the active probes (when configured); completes once YARP has applied that configuration.</summary>
    public Task EnableActiveProbesAsync(CancellationToken cancellationToken)
    {
        _activeProbes = true;
        OnChanged();
        return _probesApplied.Task.WaitAsync(cancellationToken);
    }

    void IConfigChangeListener.ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
        if (proxyConfigs.Any(c => c is Snapshot { ActiveProbes: true }))
        {
            _probesApplied.TrySetResult();
        }
    }

    void IConfigChangeListener.ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception)
    {
        if (proxyConfigs.Any(c => c is Snapshot { ActiveProbes: true }))
        {
            _probesApplied.TrySetException(exception);
        }
    }

    void IConfigChangeListener.ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    void IConfigChangeListener.ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception)
    {
    }

    private void OnChanged()
    {
        var old = _snapshot;
        _snapshot = Build();
        old.SignalChange();
    }

    private Snapshot Build()
    {
        var activeProbes = _activeProbes;
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
                    Enabled = activeProbes && _backend.Health.ActiveEnabled,
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
        return new Snapshot([cluster], activeProbes);
    }

    private sealed class Snapshot(IReadOnlyList<ClusterConfig> clusters, bool activeProbes) : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public bool ActiveProbes => activeProbes;

        public IReadOnlyList<RouteConfig> Routes => [];

        public IReadOnlyList<ClusterConfig> Clusters => clusters;

        public IChangeToken ChangeToken => new CancellationChangeToken(_changed.Token);

        public void SignalChange() => _changed.Cancel();
    }
}
