using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace CasGateway.Autodiscover;

/// <summary>
/// Mozilla's mail autoconfiguration (the ISPDB format, <c>config-v1.1.xml</c>) for IMAP/SMTP clients such as
/// Thunderbird, K-9 and Evolution: the gateway's published IMAP, POP3 and SMTP endpoints. Anonymous, as those
/// clients fetch it before they have a password; it says nothing about any mailbox.
/// </summary>
public sealed partial class MailAutoconfig(PublishedNamespaces namespaces)
{
    public IResult Answer(HttpContext context)
    {
        var domain = DomainOf(context.Request.Query["emailaddress"].ToString());
        var provider = new XElement("emailProvider",
            new XAttribute("id", domain ?? namespaces.Own.ExternalHost ?? namespaces.Own.InternalHost ?? "casgateway"),
            domain is null ? null : new XElement("domain", domain),
            new XElement("displayName", domain ?? "CasGateway"),
            new XElement("displayShortName", domain ?? "CasGateway"),
            Server("incomingServer", "imap", namespaces.Imap),
            Server("incomingServer", "pop3", namespaces.Pop),
            Server("outgoingServer", "smtp", namespaces.Smtp));
        var document = new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement("clientConfig", new XAttribute("version", "1.1"), provider));
        return Results.Content(document.Declaration + "\n" + document, "application/xml; charset=utf-8");
    }

    private static XElement? Server(string element, string type, PublishedMail? endpoint)
        => endpoint is null ? null : new XElement(element,
            new XAttribute("type", type),
            new XElement("hostname", endpoint.Host),
            new XElement("port", endpoint.Port.ToString(CultureInfo.InvariantCulture)),
            new XElement("socketType", endpoint.Encryption switch { MailEncryption.Ssl => "SSL", MailEncryption.StartTls => "STARTTLS", _ => "plain" }),
            new XElement("authentication", "password-cleartext"),
            new XElement("username", "%EMAILADDRESS%"));

    /// <summary>The domain of a well-formed address, else null (nothing else of the client's text is echoed).</summary>
    private static string? DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        var domain = at < 0 ? "" : address[(at + 1)..];
        return HostName().IsMatch(domain) ? domain.ToLowerInvariant() : null;
    }

    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]
    private static partial Regex HostName();
}
