using System.ComponentModel.DataAnnotations;
using System.Net;

namespace CasGateway.Listeners;

/// <summary>
/// <c>Gateway:Listeners</c>, the part about who may tell the gateway the client's address: balancers speaking the
/// PROXY protocol and HTTP proxies sending <c>X-Forwarded-*</c>. Anyone else is known by the socket's own address.
/// </summary>
public sealed class ClientAddressOptions
{
    /// <summary>HTTP proxies whose <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are honoured: addresses or CIDR networks.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    [Required]
    public ProxyProtocolOptions ProxyProtocol { get; set; } = new();

    public static bool IsValidTimeout(TimeSpan timeout) => timeout >= TimeSpan.FromMilliseconds(100) && timeout <= TimeSpan.FromMinutes(1);

    public static bool IsValidList(IEnumerable<string> entries) => entries.All(e => TryParseNetwork(e, out _));

    /// <summary>An address (<c>10.0.0.5</c>) or a network (<c>10.0.0.0/8</c>).</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        if (text.Contains('/'))
        {
            return IPNetwork.TryParse(text, out network);
        }
        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        network = default;
        return false;
    }

    public static IReadOnlyList<IPNetwork> ParseNetworks(IEnumerable<string> entries)
        => [.. entries.Select(e => TryParseNetwork(e, out var n) ? n : throw new FormatException($"'{e}' is not an address or network."))];

    /// <summary>Whether <paramref name="address"/> (IPv4-mapped IPv6 counts as IPv4) lies in one of the networks.</summary>
    public static bool Contains(IReadOnlyList<IPNetwork> networks, IPAddress address)
    {
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in networks)
        {
            if (network.Contains(plain))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary><c>Gateway:Listeners:ProxyProtocol</c>: PROXY protocol v1/v2 from TCP-mode balancers.</summary>
public sealed class ProxyProtocolOptions
{
    /// <summary>Balancers allowed to send a PROXY header: addresses or CIDR networks. Empty turns the PROXY protocol off.</summary>
    public List<string> TrustedBalancers { get; set; } = [];

    /// <summary>How long a new connection may take to send its first bytes (the PROXY header or the TLS hello): 0.1-60 s.</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
