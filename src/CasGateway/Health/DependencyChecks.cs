using System.Net.Sockets;
using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

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
/// At least one mailbox server the locator knows accepts a TCP connection within the probe timeout. A connect is
/// all: no request reaches a backend, and this runs only from the background refresher, never per probe.
/// </summary>
public sealed class BackendHealthCheck(IMailboxLocator locator, IOptions<HealthOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var servers = locator.Servers;
        if (servers.Count == 0)
        {
            return HealthCheckResult.Unhealthy("the directory lists no mailbox server");
        }
        var outcomes = await Task.WhenAll(servers.Select(s => ProbeAsync(s.BackendUrl, options.Value.ProbeTimeout, cancellationToken)));
        var data = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < servers.Count; i++)
        {
            data[servers[i].Fqdn] = outcomes[i] ?? "reachable";
        }
        var reachable = outcomes.Count(o => o is null);
        var summary = $"{reachable} of {servers.Count} mailbox server(s) reachable";
        return reachable == 0 ? HealthCheckResult.Unhealthy(summary, data: data)
            : reachable < servers.Count ? HealthCheckResult.Degraded(summary, data: data)
            : HealthCheckResult.Healthy(summary, data);
    }

    /// <summary>Null when the server accepts a connection, else why not.</summary>
    private static async Task<string?> ProbeAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(url.Host, url.Port, bound.Token);
            return null;
        }
        catch (SocketException ex)
        {
            return "unreachable: " + ex.SocketErrorCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"unreachable: no connection within {timeout.TotalSeconds:0.###} s";
        }
    }
}
