using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CasGateway.Mail;
using CasGateway.Mail.Core;

namespace CasGateway.EndToEnd.Autodiscover;

/// <summary>Issue 21: SOAP Autodiscover, Autodiscover v2 (JSON) and Mozilla mail autoconfiguration.</summary>
public sealed class SoapJsonAutoconfigTests(AutodiscoverDeployment deployment) : IClassFixture<AutodiscoverDeployment>
{
    private static readonly XNamespace S = "http://schemas.xmlsoap.org/soap/envelope/";
    private static readonly XNamespace A = "http://schemas.microsoft.com/exchange/2010/Autodiscover";
    private static readonly XNamespace I = "http://www.w3.org/2001/XMLSchema-instance";

    private static string GetUserSettings(IEnumerable<string> users, IEnumerable<string> settings)
        => "<soap:Envelope xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\" xmlns:wsa=\"http://www.w3.org/2005/08/addressing\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
            + "<soap:Header><a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>"
            + "<wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action></soap:Header>"
            + "<soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users>"
            + string.Concat(users.Select(u => $"<a:User><a:Mailbox>{u}</a:Mailbox></a:User>"))
            + "</a:Users><a:RequestedSettings>" + string.Concat(settings.Select(s => $"<a:Setting>{s}</a:Setting>"))
            + "</a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>";

    private async Task<XDocument> SoapAsync(string user, string body)
    {
        using var client = deployment.Client(user);
        using var response = await client.PostAsync("/autodiscover/autodiscover.svc", AutodiscoverDeployment.Xml(body));
        return await AutodiscoverDeployment.ParseAsync(response);
    }

    private static Dictionary<string, string> Settings(XElement userResponse)
        => userResponse.Element(A + "UserSettings")!.Elements(A + "UserSetting")
            .ToDictionary(s => (string)s.Element(A + "Name")!, s => (string)s.Element(A + "Value")!);

    [Fact]
    public async Task GetUserSettings_answers_each_setting_and_refuses_unknown_ones_and_other_users()
    {
        var alice = deployment.Mailbox("alice");
        var bob = deployment.Mailbox("bob");
        string[] names = ["UserDisplayName", "UserDeploymentId", "InternalEwsUrl", "ExternalEwsUrl", "InternalOABUrl", "ExternalOABUrl", "InternalEcpUrl",
            "ExternalEcpUrl", "InternalMapiHttpUrl", "ExternalMapiHttpUrl", "InternalMailboxServer", "ExternalMailboxServer", "ActiveDirectoryServer",
            "CasVersion", "EwsSupportedSchemas", "UserDN", "NoSuchSetting"];
        var answer = await SoapAsync("alice", GetUserSettings(["alice@contoso.com", "bob@contoso.com", "nobody@contoso.com", "cloudy@contoso.com"], names));

        var response = answer.Root!.Element(S + "Body")!.Element(A + "GetUserSettingsResponseMessage")!.Element(A + "Response")!;
        Assert.Equal("NoError", (string?)response.Element(A + "ErrorCode"));
        var users = response.Element(A + "UserResponses")!.Elements(A + "UserResponse").ToList();
        Assert.Equal(4, users.Count);

        Assert.Equal("NoError", (string?)users[0].Element(A + "ErrorCode"));
        var settings = Settings(users[0]);
        var point = $"{alice.Guid:D}@contoso.com";
        Assert.Equal("alice@contoso.com", settings["UserDisplayName"]);
        Assert.Equal(AutodiscoverDeployment.DeploymentId.ToString("D"), settings["UserDeploymentId"]);
        Assert.Equal("https://cas.contoso.local/EWS/Exchange.asmx", settings["InternalEwsUrl"]);
        Assert.Equal("https://mail.contoso.com/EWS/Exchange.asmx", settings["ExternalEwsUrl"]);
        Assert.Equal("https://cas.contoso.local/OAB/", settings["InternalOABUrl"]);
        Assert.Equal("https://mail.contoso.com/OAB/", settings["ExternalOABUrl"]);
        Assert.Equal("https://cas.contoso.local/ecp/", settings["InternalEcpUrl"]);
        Assert.Equal("https://mail.contoso.com/ecp/", settings["ExternalEcpUrl"]);
        Assert.Equal($"https://cas.contoso.local/mapi/emsmdb/?MailboxId={point}", settings["InternalMapiHttpUrl"]);
        Assert.Equal($"https://mail.contoso.com/mapi/emsmdb/?MailboxId={point}", settings["ExternalMapiHttpUrl"]);
        Assert.Equal(point, settings["InternalMailboxServer"]);
        Assert.Equal(point, settings["ExternalMailboxServer"]);
        Assert.Equal("dc1.contoso.com", settings["ActiveDirectoryServer"]);
        Assert.Equal("15.2.1544.4", settings["CasVersion"]);
        Assert.Contains("Exchange2013", settings["EwsSupportedSchemas"], StringComparison.Ordinal);
        Assert.EndsWith($"/cn=Recipients/cn={alice.Guid:N}-alice", settings["UserDN"], StringComparison.Ordinal);
        var settingError = Assert.Single(users[0].Element(A + "UserSettingErrors")!.Elements(A + "UserSettingError"));
        Assert.Equal("InvalidSetting", (string?)settingError.Element(A + "ErrorCode"));
        Assert.Equal("NoSuchSetting", (string?)settingError.Element(A + "SettingName"));

        Assert.Equal("InvalidUser", (string?)users[1].Element(A + "ErrorCode")); // bob: not the caller's mailbox
        Assert.Empty(users[1].Element(A + "UserSettings")!.Elements());
        Assert.Equal("InvalidUser", (string?)users[2].Element(A + "ErrorCode"));
        Assert.Equal("InvalidUser", (string?)users[3].Element(A + "ErrorCode")); // cloudy is someone else too
        Assert.DoesNotContain(bob.Guid.ToString("D"), answer.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(bob.Guid.ToString("N"), answer.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task GetUserSettings_for_a_cloud_mailbox_redirects_to_its_cloud_address()
    {
        var answer = await SoapAsync("cloudy", GetUserSettings(["cloudy@contoso.com"], ["ExternalEwsUrl"]));
        var user = answer.Descendants(A + "UserResponse").Single();
        Assert.Equal("RedirectAddress", (string?)user.Element(A + "ErrorCode"));
        Assert.Equal("cloudy@contoso.mail.onmicrosoft.com", (string?)user.Element(A + "RedirectTarget"));
        Assert.Empty(user.Element(A + "UserSettings")!.Elements());
    }

    [Fact]
    public async Task GetUserSettings_for_a_2010_mailbox_is_answered_by_its_server()
    {
        var body = GetUserSettings(["legacy10@contoso.com"], ["ExternalEwsUrl"]);
        using var client = deployment.Client("legacy10");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync("/autodiscover/autodiscover.svc", AutodiscoverDeployment.Xml(body)));
        Assert.Equal("ex2010.contoso.com", served.Server);
        Assert.Equal(Encoding.UTF8.GetByteCount(body), served.BodyBytes);
    }

    [Fact]
    public async Task GetDomainSettings_gives_the_organisations_EWS_URL_for_the_callers_domain_only()
    {
        const string body = "<soap:Envelope xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
            + "<a:GetDomainSettingsRequestMessage><a:Request><a:Domains><a:Domain>contoso.com</a:Domain><a:Domain>fabrikam.com</a:Domain></a:Domains>"
            + "<a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>ExternalEwsVersion</a:Setting><a:Setting>Nope</a:Setting></a:RequestedSettings>"
            + "<a:RequestedVersion>Exchange2013</a:RequestedVersion></a:Request></a:GetDomainSettingsRequestMessage></soap:Body></soap:Envelope>";
        var answer = await SoapAsync("alice", body);
        var domains = answer.Descendants(A + "DomainResponse").ToList();
        Assert.Equal("NoError", (string?)domains[0].Element(A + "ErrorCode"));
        var settings = domains[0].Element(A + "DomainSettings")!.Elements(A + "DomainSetting").ToDictionary(s => (string)s.Element(A + "Name")!, s => (string)s.Element(A + "Value")!);
        Assert.Equal("https://mail.contoso.com/EWS/Exchange.asmx", settings["ExternalEwsUrl"]);
        Assert.Equal("DomainStringSetting", (string?)domains[0].Element(A + "DomainSettings")!.Elements().First().Attribute(I + "type"));
        Assert.Equal("Nope", (string?)domains[0].Descendants(A + "SettingName").Single());
        Assert.Equal("InvalidDomain", (string?)domains[1].Element(A + "ErrorCode"));
    }

    [Theory]
    [InlineData("not xml at all")]
    [InlineData("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><Other/></soap:Body></soap:Envelope>")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>")]
    public async Task Malformed_SOAP_is_a_client_fault_not_a_500(string body)
    {
        using var client = deployment.Client("alice");
        using var response = await client.PostAsync("/autodiscover/autodiscover.svc", AutodiscoverDeployment.Xml(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var fault = XDocument.Parse(await response.Content.ReadAsStringAsync()).Descendants(S + "Fault").Single();
        Assert.Equal("s:Client", (string?)fault.Element("faultcode"));
    }

    [Theory]
    [InlineData("/autodiscover/autodiscover.json?Email=alice%40contoso.com&Protocol=Ews", "Ews", "https://mail.contoso.com/EWS/Exchange.asmx")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/alice@contoso.com?Protocol=ActiveSync", "ActiveSync", "https://mail.contoso.com/Microsoft-Server-ActiveSync")]
    [InlineData("/Autodiscover/Autodiscover.json/v1.0/alice@contoso.com?Protocol=autodiscoverv1", "AutodiscoverV1", "https://mail.contoso.com/autodiscover/autodiscover.xml")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/alice@contoso.com?Protocol=Rest", "Rest", "https://mail.contoso.com/api")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/paris@contoso.com?Protocol=Ews", "Ews", "https://mail.paris.contoso.com/EWS/Exchange.asmx")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/lyon@contoso.com?Protocol=Ews", "Ews", "https://mail.contoso.com/EWS/Exchange.asmx")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/legacy10@contoso.com?Protocol=Ews", "Ews", "https://mail.contoso.com/EWS/Exchange.asmx")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/nobody@contoso.com?Protocol=Ews", "Ews", "https://mail.contoso.com/EWS/Exchange.asmx")]
    public async Task JSON_v2_answers_anonymously_with_one_URL(string path, string protocol, string url)
    {
        using var client = deployment.Client(null);
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(protocol, json.RootElement.GetProperty("Protocol").GetString());
        Assert.Equal(url, json.RootElement.GetProperty("Url").GetString());
        Assert.Equal(2, json.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public async Task JSON_v2_EWS_URL_followed_reaches_the_mailbox_server()
    {
        using var anonymous = deployment.Client(null);
        using var json = JsonDocument.Parse(await anonymous.GetStringAsync("/autodiscover/autodiscover.json/v1.0/bob@contoso.com?Protocol=Ews"));
        using var client = deployment.Client("bob");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync(json.RootElement.GetProperty("Url").GetString(), AutodiscoverDeployment.Xml("<soap:Envelope/>")));
        Assert.Equal("mbx2.contoso.com", served.Server);
    }

    [Theory]
    [InlineData("/autodiscover/autodiscover.json/v1.0/alice@contoso.com?Protocol=Imap", "InvalidProtocol")]
    [InlineData("/autodiscover/autodiscover.json/v1.0/alice@contoso.com", "InvalidProtocol")]
    [InlineData("/autodiscover/autodiscover.json?Protocol=Ews", "InvalidUser")]
    [InlineData("/autodiscover/autodiscover.json?Email=not-an-address%0d%0a&Protocol=Ews", "InvalidUser")]
    public async Task JSON_v2_bad_requests_are_400_with_an_error_code(string path, string code)
    {
        using var client = deployment.Client(null);
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.RootElement.GetProperty("ErrorCode").GetString());
    }

    [Fact]
    public async Task JSON_v2_for_a_cloud_mailbox_redirects_to_the_clouds_autodiscover()
    {
        using var client = deployment.Client(null);
        using var response = await client.GetAsync("/autodiscover/autodiscover.json/v1.0/cloudy@contoso.com?Protocol=Ews");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("https://autodiscover-s.outlook.com/autodiscover/autodiscover.json/v1.0/cloudy%40contoso.mail.onmicrosoft.com?Protocol=Ews", response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40contoso.com")]
    [InlineData("/mail/config-v1.1.xml?emailaddress=alice%40contoso.com")]
    public async Task Mail_autoconfig_points_at_the_gateways_listeners(string path)
    {
        using var client = deployment.Client(null);
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var provider = XDocument.Parse(text).Root!.Element("emailProvider")!;
        Assert.Equal("1.1", (string?)provider.Parent!.Attribute("version"));
        Assert.Equal("contoso.com", (string?)provider.Element("domain"));
        var listeners = deployment.Gateway.GetRequiredService<MailListeners>();
        var imap = provider.Elements("incomingServer").Single(s => (string?)s.Attribute("type") == "imap");
        Assert.Equal("mail.contoso.com", (string?)imap.Element("hostname"));
        Assert.Equal(listeners.EndPointOf(MailProtocol.Imap, implicitTls: true).Port, (int)imap.Element("port")!);
        Assert.Equal("SSL", (string?)imap.Element("socketType"));
        Assert.Equal("%EMAILADDRESS%", (string?)imap.Element("username"));
        var pop = provider.Elements("incomingServer").Single(s => (string?)s.Attribute("type") == "pop3");
        Assert.Equal(listeners.EndPointOf(MailProtocol.Pop3, implicitTls: false).Port, (int)pop.Element("port")!);
        Assert.Equal("STARTTLS", (string?)pop.Element("socketType"));
        var smtp = provider.Element("outgoingServer")!;
        Assert.Equal(("smtp", "smtp.contoso.com", 587, "STARTTLS"), ((string?)smtp.Attribute("type"), (string?)smtp.Element("hostname"), (int)smtp.Element("port")!, (string?)smtp.Element("socketType")));

        // The published IMAP port is the gateway's listener: it greets over TLS.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, (int)imap.Element("port")!);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("mail.contoso.com");
        var greeting = new byte[256];
        var read = await tls.ReadAsync(greeting);
        Assert.StartsWith("* OK", Encoding.ASCII.GetString(greeting, 0, read), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mail_autoconfig_echoes_no_client_text_but_a_well_formed_domain()
    {
        using var client = deployment.Client(null);
        var text = await client.GetStringAsync("/mail/config-v1.1.xml?emailaddress=x%40%3Cscript%3E.com");
        var provider = XDocument.Parse(text).Root!.Element("emailProvider")!;
        Assert.Null(provider.Element("domain"));
        Assert.DoesNotContain("script", text, StringComparison.OrdinalIgnoreCase);
    }
}
