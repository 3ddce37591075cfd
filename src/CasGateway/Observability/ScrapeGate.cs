using System.Net;
using Microsoft.Extensions.Options;

namespace CasGateway.Observability;

/// <summary>
/// Lets only loopback and <c>Gateway:Telemetry:ScrapeAllowedNetworks</c> reach the Prometheus endpoint; anyone else
/// gets a 404, as if it did not exist. The network list is re-read when the configuration changes.
/// </summary>
internal sealed class ScrapeGate(IOptionsMonitor<TelemetryOptions> options)
{
    private Networks? _networks;

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (IsAllowed(context.Connection.RemoteIpAddress))
        {
            await next();
            return;
        }
        if (context.Features.Get<RequestRecord>() is { } record)
        {
            record.ErrorCode = "ScrapeNotAllowed";
        }
        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    public bool IsAllowed(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address))
        {
            return true;
        }
        var current = options.CurrentValue;
        var networks = _networks;
        if (networks is null || !ReferenceEquals(networks.Source, current))
        {
            networks = new Networks(current, [.. current.ScrapeAllowedNetworks.Select(n => IPNetwork.Parse(n))]);
            _networks = networks;
        }
        foreach (var network in networks.List)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }

    private sealed record Networks(TelemetryOptions Source, IPNetwork[] List);
}
