using System.Xml.Linq;
using CasGateway.Anchoring;
using Microsoft.Extensions.Options;

namespace CasGateway.Autodiscover;

/// <summary>
/// SOAP Autodiscover (<c>POST /autodiscover/autodiscover.svc</c>, SOAP 1.1), the form of EWS applications:
/// <c>GetUserSettings</c> with per-user and per-setting errors, and <c>GetDomainSettings</c>.
/// </summary>
public sealed partial class SoapAutodiscover(AutodiscoverResolver resolver, IOptionsMonitor<AutodiscoverOptions> options, ILogger<SoapAutodiscover> logger)
{
    public static readonly XNamespace Soap = "http://schemas.xmlsoap.org/soap/envelope/";
    public static readonly XNamespace Autodiscover = "http://schemas.microsoft.com/exchange/2010/Autodiscover";
    public static readonly XNamespace Addressing = "http://www.w3.org/2005/08/addressing";
    public static readonly XNamespace Instance = "http://www.w3.org/2001/XMLSchema-instance";

    private const string SupportedSchemas = "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016";

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
            await WriteFaultAsync(context, ex.Message);
            return true;
        }
        var body = document.Root is { } root && root.Name == Soap + "Envelope" ? root.Element(Soap + "Body")?.Elements().FirstOrDefault() : null;
        if (body?.Name == Autodiscover + "GetUserSettingsRequestMessage")
        {
            return await GetUserSettingsAsync(context, body, settings);
        }
        if (body?.Name == Autodiscover + "GetDomainSettingsRequestMessage")
        {
            await GetDomainSettingsAsync(context, body, settings);
            return true;
        }
        await WriteFaultAsync(context, "The request is not a SOAP 1.1 GetUserSettings or GetDomainSettings request.");
        return true;
    }

    private async Task<bool> GetUserSettingsAsync(HttpContext context, XElement message, AutodiscoverOptions settings)
    {
        var request = message.Element(Autodiscover + "Request");
        var users = request?.Element(Autodiscover + "Users")?.Elements(Autodiscover + "User").Select(u => u.Element(Autodiscover + "Mailbox")?.Value.Trim() ?? "").ToList() ?? [];
        var requested = request?.Element(Autodiscover + "RequestedSettings")?.Elements(Autodiscover + "Setting").Select(s => s.Value.Trim()).ToList() ?? [];
        if (users.Count == 0 || users.Count > settings.MaxUsersPerRequest || requested.Count == 0)
        {
            await WriteAsync(context, "GetUserSettingsResponseMessage", TopError("InvalidRequest",
                $"Give 1 to {settings.MaxUsersPerRequest} users and at least one setting."));
            return true;
        }
        var caller = await resolver.CallerMailboxAsync(context.User, context.RequestAborted);
        var responses = new List<XElement>();
        foreach (var user in users)
        {
            var answer = await resolver.ResolveAsync(context.Request, ProtocolFamily.Autodiscover, user, caller, context.RequestAborted);
            AutodiscoverStage.Record(context, answer);
            if (answer.Kind == AnswerKind.Proxy)
            {
                // The caller's own mailbox is on an older version: its Autodiscover answers the whole request.
                context.Request.Body.Position = 0;
                return false;
            }
            responses.Add(UserResponse(user, answer, requested, settings));
        }
        await WriteAsync(context, "GetUserSettingsResponseMessage",
            new XElement(Autodiscover + "Response",
                new XAttribute(XNamespace.Xmlns + "i", Instance),
                new XElement(Autodiscover + "ErrorCode", "NoError"),
                new XElement(Autodiscover + "ErrorMessage"),
                new XElement(Autodiscover + "UserResponses", responses)));
        return true;
    }

    private XElement UserResponse(string user, AutodiscoverAnswer answer, List<string> requested, AutodiscoverOptions settings)
    {
        switch (answer.Kind)
        {
            case AnswerKind.RedirectAddress:
                return UserError("RedirectAddress", $"Redirection address: {answer.RedirectAddress}", answer.RedirectAddress);
            case AnswerKind.NotFound:
                return UserError("InvalidUser", $"Invalid user: '{user}'", null);
            case AnswerKind.Unavailable:
                return UserError("ServerBusy", "The mailbox directory cannot be reached.", null);
            case AnswerKind.Refused:
                return UserError("InternalServerError", answer.Message ?? "The mailbox cannot be served here.", null);
        }
        var values = new List<XElement>();
        var errors = new List<XElement>();
        foreach (var name in requested.Distinct(StringComparer.Ordinal))
        {
            if (Setting(name, answer, settings) is { } value)
            {
                values.Add(new XElement(Autodiscover + "UserSetting",
                    new XAttribute(Instance + "type", "StringSetting"),
                    new XElement(Autodiscover + "Name", name),
                    new XElement(Autodiscover + "Value", value)));
            }
            else
            {
                errors.Add(new XElement(Autodiscover + "UserSettingError",
                    new XElement(Autodiscover + "ErrorCode", "InvalidSetting"),
                    new XElement(Autodiscover + "ErrorMessage", $"The requested setting '{name}' is not valid or not available."),
                    new XElement(Autodiscover + "SettingName", name)));
            }
        }
        return new XElement(Autodiscover + "UserResponse",
            new XElement(Autodiscover + "ErrorCode", "NoError"),
            new XElement(Autodiscover + "ErrorMessage", "No error."),
            new XElement(Autodiscover + "RedirectTarget", new XAttribute(Instance + "nil", "true")),
            new XElement(Autodiscover + "UserSettingErrors", errors),
            new XElement(Autodiscover + "UserSettings", values));
    }

    /// <summary>One user setting's value, or null when it is unknown or has no value here.</summary>
    private static string? Setting(string name, AutodiscoverAnswer answer, AutodiscoverOptions settings)
    {
        var urls = answer.Urls!;
        var mailbox = answer.Mailbox!;
        return name switch
        {
            "UserDisplayName" => mailbox.DisplayName ?? mailbox.PrimarySmtpAddress,
            "UserDN" => LegacyDns.User(settings.Organization, mailbox),
            "UserDeploymentId" => settings.DeploymentId.ToString("D"),
            "AutoDiscoverSMTPAddress" => mailbox.PrimarySmtpAddress,
            "InternalMailboxServer" or "ExternalMailboxServer" or "InternalRpcClientServer" => answer.ConnectionPoint,
            "InternalMailboxServerDN" => LegacyDns.Server(settings.Organization, answer.ConnectionPoint),
            "MailboxDN" => LegacyDns.Server(settings.Organization, answer.ConnectionPoint) + "/cn=Microsoft Private MDB",
            "ExternalMailboxServerRequiresSSL" => "True",
            "ExternalMailboxServerAuthenticationMethods" => "Basic",
            "ActiveDirectoryServer" => settings.ActiveDirectoryServer,
            "CasVersion" => answer.ServerVersion?.ToString(),
            "EwsSupportedSchemas" => SupportedSchemas,
            "InternalEwsUrl" => urls.InternalOf(ProtocolFamily.Ews)?.ToString(),
            "ExternalEwsUrl" => urls.ExternalOf(ProtocolFamily.Ews)?.ToString(),
            "InternalOABUrl" => urls.InternalOf(ProtocolFamily.Oab)?.ToString(),
            "ExternalOABUrl" => urls.ExternalOf(ProtocolFamily.Oab)?.ToString(),
            "InternalEcpUrl" => urls.InternalOf(ProtocolFamily.Ecp)?.ToString(),
            "ExternalEcpUrl" => urls.ExternalOf(ProtocolFamily.Ecp)?.ToString(),
            "InternalMapiHttpUrl" => Mapi(urls.InternalOf(ProtocolFamily.Mapi), answer),
            "ExternalMapiHttpUrl" => Mapi(urls.ExternalOf(ProtocolFamily.Mapi), answer),
            "MapiHttpEnabled" => "True",
            "InternalActiveSyncUrl" => urls.InternalOf(ProtocolFamily.ActiveSync)?.ToString(),
            "ExternalActiveSyncUrl" => urls.ExternalOf(ProtocolFamily.ActiveSync)?.ToString(),
            _ => null,
        };
    }

    private static string? Mapi(Uri? baseUrl, AutodiscoverAnswer answer)
        => baseUrl is null ? null : PublishedUrls.Under(baseUrl, "emsmdb/?MailboxId=" + answer.ConnectionPoint).ToString();

    private async Task GetDomainSettingsAsync(HttpContext context, XElement message, AutodiscoverOptions settings)
    {
        var request = message.Element(Autodiscover + "Request");
        var domains = request?.Element(Autodiscover + "Domains")?.Elements(Autodiscover + "Domain").Select(d => d.Value.Trim()).ToList() ?? [];
        var requested = request?.Element(Autodiscover + "RequestedSettings")?.Elements(Autodiscover + "Setting").Select(s => s.Value.Trim()).ToList() ?? [];
        if (domains.Count == 0 || domains.Count > settings.MaxUsersPerRequest || requested.Count == 0)
        {
            await WriteAsync(context, "GetDomainSettingsResponseMessage", TopError("InvalidRequest",
                $"Give 1 to {settings.MaxUsersPerRequest} domains and at least one setting."));
            return;
        }
        // The organisation's domains as far as this caller may know: the domain of their own address.
        var own = Authentication.GatewayClaims.AddressOf(context.User) is { } address ? AutodiscoverAnswer.DomainOf(address) : null;
        var urls = resolver.Namespaces.Own;
        var responses = domains.Select(domain =>
        {
            if (!string.Equals(domain, own, StringComparison.OrdinalIgnoreCase))
            {
                return new XElement(Autodiscover + "DomainResponse",
                    new XElement(Autodiscover + "ErrorCode", "InvalidDomain"),
                    new XElement(Autodiscover + "ErrorMessage", $"Invalid domain: '{domain}'"));
            }
            var values = new List<XElement>();
            var errors = new List<XElement>();
            foreach (var name in requested.Distinct(StringComparer.Ordinal))
            {
                var value = name switch
                {
                    "ExternalEwsUrl" => urls.ExternalOf(ProtocolFamily.Ews)?.ToString(),
                    "InternalEwsUrl" => urls.InternalOf(ProtocolFamily.Ews)?.ToString(),
                    "ExternalEwsVersion" => "15.02.0000.000",
                    _ => null,
                };
                if (value is null)
                {
                    errors.Add(new XElement(Autodiscover + "DomainSettingError",
                        new XElement(Autodiscover + "ErrorCode", "InvalidSetting"),
                        new XElement(Autodiscover + "ErrorMessage", $"The requested setting '{name}' is not valid or not available."),
                        new XElement(Autodiscover + "SettingName", name)));
                    continue;
                }
                values.Add(new XElement(Autodiscover + "DomainSetting",
                    new XAttribute(Instance + "type", "DomainStringSetting"),
                    new XElement(Autodiscover + "Name", name),
                    new XElement(Autodiscover + "Value", value)));
            }
            return new XElement(Autodiscover + "DomainResponse",
                new XElement(Autodiscover + "ErrorCode", "NoError"),
                new XElement(Autodiscover + "ErrorMessage", "No error."),
                new XElement(Autodiscover + "DomainSettingErrors", errors),
                new XElement(Autodiscover + "DomainSettings", values),
                new XElement(Autodiscover + "RedirectTarget", new XAttribute(Instance + "nil", "true")));
        });
        await WriteAsync(context, "GetDomainSettingsResponseMessage",
            new XElement(Autodiscover + "Response",
                new XAttribute(XNamespace.Xmlns + "i", Instance),
                new XElement(Autodiscover + "ErrorCode", "NoError"),
                new XElement(Autodiscover + "ErrorMessage"),
                new XElement(Autodiscover + "DomainResponses", responses)));
    }

    private static XElement UserError(string code, string message, string? redirectTarget)
        => new(Autodiscover + "UserResponse",
            new XElement(Autodiscover + "ErrorCode", code),
            new XElement(Autodiscover + "ErrorMessage", message),
            redirectTarget is null
                ? new XElement(Autodiscover + "RedirectTarget", new XAttribute(Instance + "nil", "true"))
                : new XElement(Autodiscover + "RedirectTarget", redirectTarget),
            new XElement(Autodiscover + "UserSettingErrors"),
            new XElement(Autodiscover + "UserSettings"));

    private static XElement TopError(string code, string message)
        => new(Autodiscover + "Response",
            new XAttribute(XNamespace.Xmlns + "i", Instance),
            new XElement(Autodiscover + "ErrorCode", code),
            new XElement(Autodiscover + "ErrorMessage", message));

    private static Task WriteAsync(HttpContext context, string operation, XElement response)
        => ClientXml.WriteAsync(context.Response, new XDocument(
            new XElement(Soap + "Envelope",
                new XAttribute(XNamespace.Xmlns + "s", Soap),
                new XAttribute(XNamespace.Xmlns + "a", Addressing),
                new XElement(Soap + "Header",
                    new XElement(Addressing + "Action", new XAttribute(Soap + "mustUnderstand", "1"),
                        "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/" + operation.Replace("Message", "", StringComparison.Ordinal)),
                    new XElement(Autodiscover + "ServerVersionInfo",
                        new XElement(Autodiscover + "MajorVersion", "15"),
                        new XElement(Autodiscover + "MinorVersion", "2"),
                        new XElement(Autodiscover + "MajorBuildNumber", "0"),
                        new XElement(Autodiscover + "MinorBuildNumber", "0"),
                        new XElement(Autodiscover + "Version", "Exchange2015"))),
                new XElement(Soap + "Body", new XElement(Autodiscover + operation, response)))));

    /// <summary>A malformed request: a SOAP 1.1 client fault, with 400 (the client's error, not the server's).</summary>
    private static Task WriteFaultAsync(HttpContext context, string reason)
        => ClientXml.WriteAsync(context.Response, new XDocument(
            new XElement(Soap + "Envelope",
                new XAttribute(XNamespace.Xmlns + "s", Soap),
                new XElement(Soap + "Body",
                    new XElement(Soap + "Fault",
                        new XElement("faultcode", "s:Client"),
                        new XElement("faultstring", reason))))), StatusCodes.Status400BadRequest);

    [LoggerMessage(Level = LogLevel.Information, Message = "SOAP Autodiscover request {RequestId} refused: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string requestId, string reason);
}
