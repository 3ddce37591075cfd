using System.ComponentModel.DataAnnotations;
using CasGateway.Listeners;

namespace CasGateway.Sip;

/// <summary>
/// <c>Gateway:Sip</c>: the Unified Messaging call router. Each listener is optional (a port of 0 picks a free one);
/// with none configured the router is off.
/// </summary>
public sealed class SipOptions : IValidatableObject
{
    public const string Section = "Gateway:Sip";

    /// <summary>SIP over TCP (usually 5060).</summary>
    [Range(0, 65535)]
    public int? TcpPort { get; set; }

    /// <summary>SIP over TLS (usually 5061), with the gateway's certificates.</summary>
    [Range(0, 65535)]
    public int? TlsPort { get; set; }

    /// <summary>SIP over UDP (usually 5060).</summary>
    [Range(0, 65535)]
    public int? UdpPort { get; set; }

    /// <summary>The VoIP gateways and IP-PBXs allowed to send calls: addresses or CIDR networks. Anyone else is refused.</summary>
    public List<string> Peers { get; set; } = [];

    /// <summary>
    /// SHA-256 thumbprints of the peers' TLS client certificates; when set, a TLS peer must present one of them (as
    /// well as come from a listed address).
    /// </summary>
    public List<string> PeerCertificateThumbprints { get; set; } = [];

    /// <summary>Numbers (subscriber access, auto attendant) that reach any server of the site when no user is named.</summary>
    public List<string> PilotNumbers { get; set; } = [];

    /// <summary>Largest message accepted (headers and body), in bytes.</summary>
    [Range(1024, 65535)]
    public int MaxMessageSize { get; set; } = 8 * 1024;

    /// <summary>Most header lines accepted in one message.</summary>
    [Range(8, 256)]
    public int MaxHeaders { get; set; } = 64;

    /// <summary>Longest line (request line or header) accepted, in bytes.</summary>
    [Range(128, 8192)]
    public int MaxLineLength { get; set; } = 2048;

    /// <summary>Seconds a caller is told to wait (<c>Retry-After</c>) when the directory is unavailable or the router drains.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 30;

    /// <summary>How long a TCP/TLS connection may stay silent before it is closed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public bool Enabled => TcpPort is not null || TlsPort is not null || UdpPort is not null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var peer in Peers.Where(p => !ClientAddressOptions.TryParseNetwork(p, out _)))
        {
            yield return new ValidationResult($"{Section}:Peers: '{peer}' is not an address or CIDR network.", [nameof(Peers)]);
        }
        if (Enabled && Peers.Count == 0)
        {
            yield return new ValidationResult($"{Section}:Peers must list the gateways/PBXs allowed to call when a SIP listener is enabled.", [nameof(Peers)]);
        }
        foreach (var thumbprint in PeerCertificateThumbprints.Where(t => t.Length != 64 || !t.All(char.IsAsciiHexDigit)))
        {
            yield return new ValidationResult($"{Section}:PeerCertificateThumbprints: '{thumbprint}' is not a SHA-256 thumbprint (64 hex digits).",
                [nameof(PeerCertificateThumbprints)]);
        }
        foreach (var pilot in PilotNumbers.Where(p => !Location.VoiceAddress.IsExtension(p) && !Location.VoiceAddress.IsE164(p)))
        {
            yield return new ValidationResult($"{Section}:PilotNumbers: '{pilot}' is not digits or +digits.", [nameof(PilotNumbers)]);
        }
    }
}
