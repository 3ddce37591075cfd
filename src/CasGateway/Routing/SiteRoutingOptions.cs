using System.ComponentModel.DataAnnotations;
using CasGateway.Anchoring;

namespace CasGateway.Routing;

/// <summary><c>Gateway:Routing</c>: where requests for mailboxes in other sites, older versions or the cloud go.</summary>
public sealed class SiteRoutingOptions
{
    public const string Section = "Gateway:Routing";

    /// <summary>Per directory site: its front end's external URLs per protocol family (browser redirects go there).</summary>
    public Dictionary<string, SiteUrls> Sites { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Base URL of the legacy namespace for Exchange 2007 mailboxes, e.g. <c>https://legacy.contoso.com</c>.</summary>
    [Url]
    public string? LegacyNamespace { get; set; }

    [Required]
    public CloudOptions Cloud { get; set; } = new();
}

public sealed class SiteUrls
{
    /// <summary>External URL per family, e.g. <c>Owa: https://mail.paris.contoso.com/owa</c>.</summary>
    public Dictionary<ProtocolFamily, Uri> ExternalUrls { get; set; } = [];
}

/// <summary>Hybrid: where cloud-hosted mailboxes are sent.</summary>
public sealed class CloudOptions
{
    /// <summary>OWA URL for cloud mailboxes; <c>{domain}</c> is replaced by the mailbox's domain (Exchange's TargetOWAUrl).</summary>
    [Required]
    public string OwaUrl { get; set; } = "https://outlook.office.com/owa/{domain}";

    /// <summary>Per-domain OWA URL overriding <see cref="OwaUrl"/>.</summary>
    public Dictionary<string, Uri> OwaUrlByDomain { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Base URL of the cloud endpoint named to other protocols (ActiveSync 451, EWS 404 …).</summary>
    [Required]
    [Url]
    public string Endpoint { get; set; } = "https://outlook.office365.com";

    /// <summary>Base URL of the cloud Autodiscover service.</summary>
    [Required]
    [Url]
    public string AutodiscoverEndpoint { get; set; } = "https://autodiscover-s.outlook.com";
}
