using System.ComponentModel.DataAnnotations;

namespace CasGateway.Configuration;

/// <summary><c>Gateway</c>: settings of this gateway node.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>This node's FQDN, sent to backends and shown by health checks. Default: the machine name.</summary>
    [Required]
    public string NodeName { get; set; } = Environment.MachineName;

    /// <summary>The directory site this node serves (requests not tied to a mailbox go to servers of this site).</summary>
    public string? Site { get; set; }

    /// <summary>Folder for generated files (self-signed certificates, keys), relative to the content root.</summary>
    [Required]
    public string DataPath { get; set; } = ".data";
}
