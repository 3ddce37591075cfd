using CasGateway.Anchoring;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.Routing;
using Microsoft.Extensions.Options;

namespace CasGateway.Autodiscover;

/// <summary>One site's published namespace: the URL of every family, inside and outside the network.</summary>
public sealed record PublishedUrls(string? Site, Uri? Internal, Uri? External, IReadOnlyDictionary<ProtocolFamily, Uri> ExternalOverrides)
{
    public Uri? InternalOf(ProtocolFamily family) => Internal is null ? null : new Uri(Internal, PathOf(family));

    /// <summary><c>Gateway:Routing:Sites:&lt;site&gt;:ExternalUrls:&lt;family&gt;</c> when set, else the site's external base URL.</summary>
    public Uri? ExternalOf(ProtocolFamily family)
        => ExternalOverrides.TryGetValue(family, out var url) ? url : External is null ? null : new Uri(External, PathOf(family));

    /// <summary><paramref name="relative"/> under a family's URL, read as a folder (<c>…/mapi</c> + <c>emsmdb/</c> → <c>…/mapi/emsmdb/</c>).</summary>
    public static Uri Under(Uri familyUrl, string relative)
        => new(familyUrl.AbsolutePath.EndsWith('/') ? familyUrl : new Uri(familyUrl.GetLeftPart(UriPartial.Path) + "/"), relative);

    /// <summary>Where clients outside (else inside) the network connect: used by answers that carry one URL.</summary>
    public Uri Preferred(ProtocolFamily family) => (ExternalOf(family) ?? InternalOf(family))!;

    /// <summary>Host name for Outlook Anywhere inside (EXCH) and outside (EXPR).</summary>
    public string? InternalHost => Internal?.Host;

    public string? ExternalHost => External?.Host ?? ExternalOverrides.GetValueOrDefault(ProtocolFamily.Rpc)?.Host;

    public static string PathOf(ProtocolFamily family) => family switch
    {
        ProtocolFamily.Owa => "/owa/",
        ProtocolFamily.Ecp => "/ecp/",
        ProtocolFamily.Ews => "/EWS/Exchange.asmx",
        ProtocolFamily.ActiveSync => "/Microsoft-Server-ActiveSync",
        ProtocolFamily.Mapi => "/mapi/",
        ProtocolFamily.Rpc => "/rpc/rpcproxy.dll",
        ProtocolFamily.Oab => "/OAB/",
        ProtocolFamily.PowerShell => "/powershell/",
        _ => "/autodiscover/autodiscover.svc",
    };
}

/// <summary>A mail endpoint as clients are told it.</summary>
public sealed record PublishedMail(string Host, int Port, MailEncryption Encryption);

/// <summary>The namespaces and mail endpoints from configuration, per site.</summary>
public sealed class PublishedNamespaces(
    IOptionsMonitor<AutodiscoverOptions> options,
    IOptionsMonitor<SiteRoutingOptions> routing,
    IOptions<Configuration.GatewayOptions> gateway,
    IOptions<MailOptions> mail,
    MailListeners listeners)
{
    /// <summary>This gateway's site.</summary>
    public PublishedUrls Own => new(gateway.Value.Site, options.CurrentValue.InternalUrl, options.CurrentValue.ExternalUrl, Overrides(gateway.Value.Site));

    /// <summary>
    /// The URLs for a mailbox in <paramref name="site"/>: that site's namespace when it publishes an external one,
    /// else this gateway's (which proxies across sites).
    /// </summary>
    public PublishedUrls ForSite(string? site)
    {
        var own = gateway.Value.Site;
        if (site is null || own is null || string.Equals(site, own, StringComparison.OrdinalIgnoreCase))
        {
            return Own;
        }
        var overrides = Overrides(site);
        if (options.CurrentValue.Sites.TryGetValue(site, out var published) && published.ExternalUrl is not null)
        {
            return new PublishedUrls(site, published.InternalUrl, published.ExternalUrl, overrides);
        }
        return Own;
    }

    public PublishedMail? Imap => options.CurrentValue.Mail.Imap is { } imap ? From(imap) : FromListener(MailProtocol.Imap, mail.Value.Imap);

    public PublishedMail? Pop => options.CurrentValue.Mail.Pop is { } pop ? From(pop) : FromListener(MailProtocol.Pop3, mail.Value.Pop);

    public PublishedMail? Smtp => options.CurrentValue.Mail.Smtp is { } smtp ? From(smtp) : null;

    private static PublishedMail From(PublishedMailEndpoint endpoint) => new(endpoint.Host, endpoint.Port, endpoint.Encryption);

    /// <summary>The gateway's own listener (its bound port, also when 0 was configured) under the published host.</summary>
    private PublishedMail? FromListener(MailProtocol protocol, MailListenerOptions listener)
    {
        var host = options.CurrentValue.ExternalUrl?.Host ?? options.CurrentValue.InternalUrl?.Host;
        if (host is null || !listener.Enabled)
        {
            return null;
        }
        var implicitTls = listener.ImplicitTlsPort is not null;
        return new PublishedMail(host, listeners.EndPointOf(protocol, implicitTls).Port, implicitTls ? MailEncryption.Ssl : MailEncryption.StartTls);
    }

    private IReadOnlyDictionary<ProtocolFamily, Uri> Overrides(string? site)
        => site is not null && routing.CurrentValue.Sites.TryGetValue(site, out var urls) ? urls.ExternalUrls : new Dictionary<ProtocolFamily, Uri>();
}
