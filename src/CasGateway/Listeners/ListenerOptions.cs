using System.ComponentModel.DataAnnotations;

namespace CasGateway.Listeners;

/// <summary><c>Gateway:Listeners</c>: where clients connect and which certificates they are shown.</summary>
public sealed class ListenerOptions
{
    public const string Section = "Gateway:Listeners";

    /// <summary>IP address to bind: <c>Any</c>, <c>Loopback</c> or a literal address.</summary>
    [Required]
    public string Address { get; set; } = "Any";

    /// <summary>HTTPS port for every HTTP protocol family; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int HttpsPort { get; set; } = 8443;

    /// <summary>Largest total size of a request's headers, in bytes.</summary>
    [Range(32 * 1024, 1024 * 1024)]
    public int MaxRequestHeadersTotalSize { get; set; } = 128 * 1024;

    /// <summary>
    /// Server certificates. An entry without host names is the default; entries with host names are chosen by SNI.
    /// When none is configured, a self-signed certificate for localhost is generated into the data folder.
    /// </summary>
    public List<CertificateOptions> Certificates { get; set; } = [];
}

/// <summary>One certificate: a PEM pair (<see cref="Path"/> + <see cref="KeyPath"/>) or a PFX (<see cref="Path"/> + optional password).</summary>
public sealed class CertificateOptions
{
    /// <summary>SNI host names this certificate serves (e.g. <c>mail.contoso.com</c>, <c>*.contoso.com</c>); empty = default.</summary>
    public List<string> HostNames { get; set; } = [];

    /// <summary>Certificate file: <c>.pem</c>/<c>.crt</c> (with <see cref="KeyPath"/>) or <c>.pfx</c>/<c>.p12</c>.</summary>
    [Required]
    public string Path { get; set; } = "";

    /// <summary>PEM private key file, for PEM certificates.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PFX or of an encrypted PEM key.</summary>
    public string? Password { get; set; }
}
