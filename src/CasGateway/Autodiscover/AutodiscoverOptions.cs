using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace CasGateway.Autodiscover;

/// <summary>
/// <c>Gateway:Autodiscover</c>: what the gateway publishes to clients that configure themselves (Autodiscover POX,
/// SOAP and JSON, mail autoconfiguration). See docs/autodiscover.md.
/// </summary>
public sealed class AutodiscoverOptions : IValidatableObject
{
    public const string Section = "Gateway:Autodiscover";

    /// <summary>
    /// The gateway answers Autodiscover itself (it then needs the organisation's <see cref="DeploymentId"/> and its
    /// published URLs); when false every <c>/autodiscover</c> request is proxied. Off until configured; read at start.
    /// </summary>
    public bool Enabled { get; set; }

    /// <summary>The organisation's deployment GUID (<c>DeploymentId</c>, <c>UserDeploymentId</c>); required when enabled.</summary>
    public Guid DeploymentId { get; set; }

    /// <summary>Organisation name used in the legacy distinguished names (<c>/o=&lt;Organization&gt;/…</c>).</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9 ._-]{1,64}$")]
    public string Organization { get; set; } = "CasGateway";

    /// <summary>Base URL of this site's namespace inside the network, e.g. <c>https://cas.contoso.local</c>.</summary>
    public Uri? InternalUrl { get; set; }

    /// <summary>Base URL of this site's namespace on the internet, e.g. <c>https://mail.contoso.com</c>.</summary>
    public Uri? ExternalUrl { get; set; }

    /// <summary>
    /// Namespaces of other directory sites. A mailbox in a site listed here with an external URL is answered with
    /// that site's URLs; in any other site with this site's URLs (the gateway proxies across sites).
    /// </summary>
    public Dictionary<string, PublishedNamespace> Sites { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The IMAP, POP3 and SMTP endpoints clients are told to use.</summary>
    [Required]
    [ValidateObjectMembers]
    public PublishedMailOptions Mail { get; set; } = new();

    /// <summary>Largest POX or SOAP request body read, in bytes; larger ones get the schema's error answer.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 64 * 1024;

    /// <summary>Most users (and domains) one SOAP request may ask about.</summary>
    [Range(1, 100)]
    public int MaxUsersPerRequest { get; set; } = 100;

    /// <summary>Domain controller named in the <c>ActiveDirectoryServer</c> setting, if clients should be told one.</summary>
    public string? ActiveDirectoryServer { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }
        if (DeploymentId == Guid.Empty)
        {
            yield return new ValidationResult($"{Section}:DeploymentId: required when Autodiscover is enabled (the organisation's GUID, e.g. from uuidgen).", [nameof(DeploymentId)]);
        }
        if (InternalUrl is null && ExternalUrl is null)
        {
            yield return new ValidationResult($"{Section}:ExternalUrl or {Section}:InternalUrl: at least one is required when Autodiscover is enabled.", [nameof(ExternalUrl)]);
        }
        foreach (var problem in CheckBase($"{Section}:InternalUrl", InternalUrl).Concat(CheckBase($"{Section}:ExternalUrl", ExternalUrl)))
        {
            yield return problem;
        }
        foreach (var (site, published) in Sites)
        {
            foreach (var problem in CheckBase($"{Section}:Sites:{site}:InternalUrl", published.InternalUrl)
                .Concat(CheckBase($"{Section}:Sites:{site}:ExternalUrl", published.ExternalUrl)))
            {
                yield return problem;
            }
        }
        if (ActiveDirectoryServer is { } dc && Uri.CheckHostName(dc) != UriHostNameType.Dns)
        {
            yield return new ValidationResult($"{Section}:ActiveDirectoryServer = '{dc}': must be a host name.", [nameof(ActiveDirectoryServer)]);
        }
    }

    /// <summary>A namespace base URL: absolute https, host and optional port only.</summary>
    private static IEnumerable<ValidationResult> CheckBase(string key, Uri? url)
    {
        if (url is null)
        {
            yield break;
        }
        if (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps || url.AbsolutePath != "/" || url.Query.Length > 0 || url.Fragment.Length > 0 || url.UserInfo.Length > 0)
        {
            yield return new ValidationResult($"{key} = '{url}': must be an absolute https URL with a host and optional port only, e.g. https://mail.contoso.com.", [key]);
        }
    }
}

/// <summary>The internal and external base URLs of one site's namespace.</summary>
public sealed class PublishedNamespace
{
    public Uri? InternalUrl { get; set; }

    public Uri? ExternalUrl { get; set; }
}

/// <summary>
/// The mail endpoints clients are told to use. An unset IMAP or POP3 entry is taken from the gateway's own
/// listener (<c>Gateway:Mail:Imap</c>/<c>Pop</c>, implicit TLS preferred) under the external (else internal) host.
/// </summary>
public sealed class PublishedMailOptions
{
    [ValidateObjectMembers]
    public PublishedMailEndpoint? Imap { get; set; }

    [ValidateObjectMembers]
    public PublishedMailEndpoint? Pop { get; set; }

    [ValidateObjectMembers]
    public PublishedMailEndpoint? Smtp { get; set; }
}

/// <summary>One published mail endpoint.</summary>
public sealed class PublishedMailEndpoint
{
    [Required]
    [RegularExpression(@"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")]
    public string Host { get; set; } = "";

    [Range(1, 65535)]
    public int Port { get; set; }

    public MailEncryption Encryption { get; set; } = MailEncryption.Ssl;
}

/// <summary>How a mail client secures a connection.</summary>
public enum MailEncryption
{
    /// <summary>TLS from the first byte (IMAP 993, POP3 995, SMTP 465).</summary>
    Ssl,

    /// <summary>Clear text until STARTTLS (IMAP 143, POP3 110, SMTP 587).</summary>
    StartTls,

    /// <summary>No TLS (not recommended).</summary>
    None,
}
