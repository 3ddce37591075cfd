using System.Globalization;
using System.Xml.Linq;
using CasGateway.Anchoring;
using CasGateway.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Autodiscover;

/// <summary>
/// POX Autodiscover (<c>POST /autodiscover/autodiscover.xml</c>): the Outlook schema (2006a) and the mobile schema
/// (ActiveSync, 2006). A caller learns only about their own mailbox; see docs/autodiscover.md.
/// </summary>
public sealed partial class PoxAutodiscover(AutodiscoverResolver resolver, IOptionsMonitor<AutodiscoverOptions> options, ILogger<PoxAutodiscover> logger)
{
    public static readonly XNamespace Response2006 = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
    public static readonly XNamespace Outlook = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    public static readonly XNamespace Mobile = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";

    /// <summary>Answers the request, or returns false when an older version's server must answer (then the body is rewound for the proxy).</summary>
    public async Task<bool> TryAnswerAsync(HttpContext context)
    {
        var settings = options.CurrentValue;
        var request = context.Request;
        request.EnableBuffering(settings.MaxRequestBytes, settings.MaxRequestBytes);
        XDocument document;
        try
        {
            document = await ClientXml.ReadAsync(request, settings.MaxRequestBytes, context.RequestAborted);
        }
        catch (ClientXmlException ex)
        {
            LogBadRequest(logger, context.TraceIdentifier, ex.Message);
            await WriteErrorAsync(context, 600, "Invalid Request");
            return true;
        }
        if (document.Root is not { Name.LocalName: "Autodiscover" } root || root.Element(root.Name.Namespace + "Request") is not { } body)
        {
            await WriteErrorAsync(context, 600, "Invalid Request");
            return true;
        }
        var schema = ClientXml.Text(body, "AcceptableResponseSchema");
        var mobile = schema == Mobile.NamespaceName;
        if (!mobile && schema != Outlook.NamespaceName)
        {
            await WriteErrorAsync(context, 601, "Provider is not available");
            return true;
        }
        var callerGuid = await resolver.CallerMailboxAsync(context.User, context.RequestAborted);
        var address = ClientXml.Text(body, "EMailAddress");
        if (string.IsNullOrEmpty(address) && ClientXml.Text(body, "LegacyDN") is { Length: > 0 } legacyDn)
        {
            // Only the caller's own legacy DN is understood: it names their mailbox GUID.
            address = LegacyDns.MailboxGuidOf(legacyDn) == callerGuid && callerGuid != Guid.Empty ? GatewayClaims.AddressOf(context.User) : null;
        }
        if (string.IsNullOrEmpty(address))
        {
            await WriteErrorAsync(context, 500, "The email address can't be found.");
            return true;
        }

        var answer = await resolver.ResolveAsync(request, ProtocolFamily.Autodiscover, address, callerGuid, context.RequestAborted);
        AutodiscoverStage.Record(context, answer);
        switch (answer.Kind)
        {
            case AnswerKind.Proxy:
                request.Body.Position = 0;
                return false;
            case AnswerKind.RedirectAddress:
                await ClientXml.WriteAsync(context.Response, mobile ? MobileRedirect(answer.RedirectAddress!) : OutlookRedirect(answer.RedirectAddress!));
                return true;
            case AnswerKind.Settings:
                await ClientXml.WriteAsync(context.Response, mobile ? MobileSettings(answer) : OutlookSettings(answer, settings, resolver.Namespaces));
                return true;
            case AnswerKind.Unavailable:
                await WriteErrorAsync(context, 603, "Server Busy");
                return true;
            default:
                LogNotAnswered(logger, context.TraceIdentifier, answer.Kind, answer.Message);
                await WriteErrorAsync(context, 500, answer.Kind == AnswerKind.NotFound ? "The email address can't be found." : answer.Message ?? "Unavailable");
                return true;
        }
    }

    /// <summary>
    /// For <c>POST /admin/explain/autodiscover</c>: what <paramref name="user"/> gets when asking POX about their own
    /// mailbox with the Outlook schema, and why.
    /// </summary>
    public async Task<AutodiscoverExplanation> ExplainAsync(string user, CancellationToken cancellationToken)
    {
        var request = new DefaultHttpContext().Request;
        request.Method = HttpMethods.Post;
        request.Path = AutodiscoverStage.PoxPath;
        var answer = await resolver.ResolveAsync(request, ProtocolFamily.Autodiscover, user, caller: null, cancellationToken);
        var document = answer.Kind switch
        {
            AnswerKind.Settings => OutlookSettings(answer, options.CurrentValue, resolver.Namespaces),
            AnswerKind.RedirectAddress => OutlookRedirect(answer.RedirectAddress!),
            _ => null,
        };
        return new AutodiscoverExplanation(user, answer.Kind.ToString(), answer.Rule, answer.Urls?.Site,
            answer.Kind == AnswerKind.Settings ? answer.ConnectionPoint : null, answer.Message, document?.ToString());
    }

    /// <summary>The schema's error answer (200, as Exchange sends it).</summary>
    private static Task WriteErrorAsync(HttpContext context, int code, string message)
        => ClientXml.WriteAsync(context.Response, new XDocument(
            new XElement(Response2006 + "Autodiscover",
                new XElement(Response2006 + "Response",
                    new XElement(Response2006 + "Error",
                        new XAttribute("Time", DateTime.UtcNow.ToString("HH:mm:ss.fffffff", CultureInfo.InvariantCulture)),
                        new XAttribute("Id", context.TraceIdentifier),
                        new XElement(Response2006 + "ErrorCode", code.ToString(CultureInfo.InvariantCulture)),
                        new XElement(Response2006 + "Message", message),
                        new XElement(Response2006 + "DebugData"))))));

    private static XDocument OutlookRedirect(string address) => Wrap(Outlook,
        new XElement(Outlook + "Account",
            new XElement(Outlook + "Action", "redirectAddr"),
            new XElement(Outlook + "RedirectAddr", address)));

    private static XDocument MobileRedirect(string address) => Wrap(Mobile,
        new XElement(Mobile + "Culture", "en:us"),
        new XElement(Mobile + "Action", new XElement(Mobile + "Redirect", address)));

    private static XDocument MobileSettings(AutodiscoverAnswer answer)
    {
        var url = answer.Urls!.Preferred(ProtocolFamily.ActiveSync).ToString();
        return Wrap(Mobile,
            new XElement(Mobile + "Culture", "en:us"),
            new XElement(Mobile + "User",
                new XElement(Mobile + "DisplayName", answer.Mailbox!.DisplayName ?? answer.Mailbox.PrimarySmtpAddress),
                new XElement(Mobile + "EMailAddress", answer.Mailbox.PrimarySmtpAddress)),
            new XElement(Mobile + "Action",
                new XElement(Mobile + "Settings",
                    new XElement(Mobile + "Server",
                        new XElement(Mobile + "Type", "MobileSync"),
                        new XElement(Mobile + "Url", url),
                        new XElement(Mobile + "Name", url)))));
    }

    private static XDocument OutlookSettings(AutodiscoverAnswer answer, AutodiscoverOptions settings, PublishedNamespaces namespaces)
    {
        var mailbox = answer.Mailbox!;
        var urls = answer.Urls!;
        var point = answer.ConnectionPoint;
        var query = "?MailboxId=" + point;
        var account = new XElement(Outlook + "Account",
            new XElement(Outlook + "AccountType", "email"),
            new XElement(Outlook + "Action", "settings"),
            new XElement(Outlook + "MicrosoftOnline", "False"),
            new XElement(Outlook + "ConsumerMailbox", "False"),
            new XElement(Outlook + "Protocol",
                new XAttribute("Type", "mapiHttp"),
                new XAttribute("Version", "1"),
                new XElement(Outlook + "MailStore", InternalExternal(urls, ProtocolFamily.Mapi, "emsmdb/" + query)),
                new XElement(Outlook + "AddressBook", InternalExternal(urls, ProtocolFamily.Mapi, "nspi/" + query))),
            OutlookAnywhere("EXCH", urls.InternalHost ?? urls.ExternalHost, point, urls, settings, answer, inside: urls.Internal is not null),
            urls.ExternalHost is { } externalHost ? OutlookAnywhere("EXPR", externalHost, point, urls, settings, answer, inside: false) : null,
            new XElement(Outlook + "Protocol",
                new XElement(Outlook + "Type", "WEB"),
                urls.InternalOf(ProtocolFamily.Owa) is { } owaIn
                    ? new XElement(Outlook + "Internal", new XElement(Outlook + "OWAUrl", new XAttribute("AuthenticationMethod", "Basic, Fba"), owaIn))
                    : null,
                urls.ExternalOf(ProtocolFamily.Owa) is { } owaOut
                    ? new XElement(Outlook + "External", new XElement(Outlook + "OWAUrl", new XAttribute("AuthenticationMethod", "Basic, Fba"), owaOut))
                    : null),
            MailProtocol("IMAP", namespaces.Imap, mailbox.PrimarySmtpAddress),
            MailProtocol("POP3", namespaces.Pop, mailbox.PrimarySmtpAddress),
            MailProtocol("SMTP", namespaces.Smtp, mailbox.PrimarySmtpAddress));
        return Wrap(Outlook,
            new XElement(Outlook + "User",
                new XElement(Outlook + "DisplayName", mailbox.DisplayName ?? mailbox.PrimarySmtpAddress),
                new XElement(Outlook + "LegacyDN", LegacyDns.User(settings.Organization, mailbox)),
                new XElement(Outlook + "AutoDiscoverSMTPAddress", mailbox.PrimarySmtpAddress),
                new XElement(Outlook + "DeploymentId", settings.DeploymentId.ToString("D"))),
            account);
    }

    /// <summary>Outlook Anywhere: EXCH (inside, the connection point as server) and EXPR (the external RPC proxy host).</summary>
    private static XElement? OutlookAnywhere(string type, string? host, string point, PublishedUrls urls, AutodiscoverOptions settings, AutodiscoverAnswer answer, bool inside)
    {
        if (host is null)
        {
            return null;
        }
        Uri? Url(ProtocolFamily family) => inside ? urls.InternalOf(family) ?? urls.ExternalOf(family) : urls.ExternalOf(family);
        var ews = Url(ProtocolFamily.Ews);
        return new XElement(Outlook + "Protocol",
            new XElement(Outlook + "Type", type),
            new XElement(Outlook + "Server", type == "EXCH" ? point : host),
            type == "EXCH" ? new XElement(Outlook + "ServerDN", LegacyDns.Server(settings.Organization, point)) : null,
            new XElement(Outlook + "ServerVersion", LegacyDns.ServerVersion(answer.ServerVersion!)),
            type == "EXCH" ? new XElement(Outlook + "MdbDN", LegacyDns.Server(settings.Organization, point) + "/cn=Microsoft Private MDB") : null,
            settings.ActiveDirectoryServer is { } dc ? new XElement(Outlook + "AD", dc) : null,
            new XElement(Outlook + "ASUrl", ews),
            new XElement(Outlook + "EwsUrl", ews),
            new XElement(Outlook + "EmwsUrl", ews),
            new XElement(Outlook + "EcpUrl", Url(ProtocolFamily.Ecp)),
            new XElement(Outlook + "OOFUrl", ews),
            new XElement(Outlook + "OABUrl", Url(ProtocolFamily.Oab)),
            new XElement(Outlook + "ServerExclusiveConnect", type == "EXPR" ? "on" : "off"),
            type == "EXPR" ? new XElement(Outlook + "SSL", "On") : null,
            type == "EXPR" ? new XElement(Outlook + "AuthPackage", "Basic") : null);
    }

    private static IEnumerable<XElement> InternalExternal(PublishedUrls urls, ProtocolFamily family, string relative)
    {
        if (urls.InternalOf(family) is { } inside)
        {
            yield return new XElement(Outlook + "InternalUrl", PublishedUrls.Under(inside, relative));
        }
        if (urls.ExternalOf(family) is { } outside)
        {
            yield return new XElement(Outlook + "ExternalUrl", PublishedUrls.Under(outside, relative));
        }
    }

    private static XElement? MailProtocol(string type, PublishedMail? endpoint, string loginName)
        => endpoint is null ? null : new XElement(Outlook + "Protocol",
            new XElement(Outlook + "Type", type),
            new XElement(Outlook + "Server", endpoint.Host),
            new XElement(Outlook + "Port", endpoint.Port.ToString(CultureInfo.InvariantCulture)),
            new XElement(Outlook + "LoginName", loginName),
            new XElement(Outlook + "DomainRequired", "off"),
            new XElement(Outlook + "SPA", "off"),
            new XElement(Outlook + "SSL", endpoint.Encryption == MailEncryption.None ? "off" : "on"),
            new XElement(Outlook + "Encryption", endpoint.Encryption switch { MailEncryption.Ssl => "SSL", MailEncryption.StartTls => "TLS", _ => "None" }),
            new XElement(Outlook + "AuthRequired", "on"));

    private static XDocument Wrap(XNamespace schema, params object?[] content)
        => new(new XElement(Response2006 + "Autodiscover", new XElement(schema + "Response", content)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Autodiscover request {RequestId} refused: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string requestId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Autodiscover request {RequestId} not answered with settings: {Kind} {Reason}")]
    private static partial void LogNotAnswered(ILogger logger, string requestId, AnswerKind kind, string? reason);
}

/// <summary>The Autodiscover answer for a user, as <c>POST /admin/explain/autodiscover</c> shows it.</summary>
public sealed record AutodiscoverExplanation(string User, string Answer, string? Rule, string? Site, string? ConnectionPoint, string? Detail, string? Outlook);

/// <summary>Exchange-style legacy distinguished names and server version numbers.</summary>
internal static class LegacyDns
{
    private const string AdminGroup = "/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)";

    public static string User(string organization, Location.Mailbox mailbox)
        => $"/o={organization}{AdminGroup}/cn=Recipients/cn={mailbox.Guid:N}-{LocalPart(mailbox.PrimarySmtpAddress)}";

    public static string Server(string organization, string connectionPoint)
        => $"/o={organization}{AdminGroup}/cn=Configuration/cn=Servers/cn={connectionPoint}";

    /// <summary>The mailbox GUID a user legacy DN made by <see cref="User"/> names, else empty.</summary>
    public static Guid MailboxGuidOf(string legacyDn)
    {
        var last = legacyDn.LastIndexOf("/cn=", StringComparison.OrdinalIgnoreCase);
        var name = last < 0 ? "" : legacyDn[(last + 4)..];
        return name.Length >= 32 && Guid.TryParseExact(name[..32], "N", out var guid) ? guid : Guid.Empty;
    }

    /// <summary>Outlook's hexadecimal server version: 0111, 6 bits major, 6 bits minor, 1, 15 bits build (15.1.2176 → 73C18880).</summary>
    public static string ServerVersion(Version version)
        => (0x70000000u | ((uint)version.Major & 0x3F) << 22 | ((uint)version.Minor & 0x3F) << 16 | 0x8000u | ((uint)Math.Max(version.Build, 0) & 0x7FFF))
            .ToString("X8", CultureInfo.InvariantCulture);

    private static string LocalPart(string address) => address[..Math.Max(address.IndexOf('@'), 0)];
}
