using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Xml.Linq;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Autodiscover;

/// <summary>Issue 21: POX Autodiscover (Outlook 2006a and mobile schemas) answered by the gateway, element by element.</summary>
public sealed class PoxAutodiscoverTests(AutodiscoverDeployment deployment) : IClassFixture<AutodiscoverDeployment>
{
    private static readonly XNamespace R = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
    private static readonly XNamespace O = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    private static readonly XNamespace M = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";
    private const string OutlookRequest = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
    private const string MobileRequest = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006";

    public static string Request(string address, string schema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a", string ns = OutlookRequest)
        => $"<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"{ns}\"><Request><EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>{schema}</AcceptableResponseSchema></Request></Autodiscover>";

    private async Task<XDocument> PoxAsync(string user, string body, string path = "/autodiscover/autodiscover.xml")
    {
        using var client = deployment.Client(user);
        using var response = await client.PostAsync(path, AutodiscoverDeployment.Xml(body));
        return await AutodiscoverDeployment.ParseAsync(response);
    }

    private static XElement Protocol(XDocument answer, string type)
        => answer.Descendants(O + "Protocol").Single(p => (string?)p.Element(O + "Type") == type || (string?)p.Attribute("Type") == type);

    [Fact]
    public async Task Outlook_schema_for_a_mailbox_of_this_site_lists_every_protocol_with_the_connection_point()
    {
        var alice = deployment.Mailbox("alice");
        var point = $"{alice.Guid:D}@contoso.com";
        var answer = await PoxAsync("alice", Request("alice@contoso.com"), "/AutoDiscover/AutoDiscover.xml");

        var user = answer.Root!.Element(O + "Response")!.Element(O + "User")!;
        Assert.Equal("alice@contoso.com", (string?)user.Element(O + "DisplayName"));
        Assert.Equal($"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={alice.Guid:N}-alice", (string?)user.Element(O + "LegacyDN"));
        Assert.Equal("alice@contoso.com", (string?)user.Element(O + "AutoDiscoverSMTPAddress"));
        Assert.Equal(AutodiscoverDeployment.DeploymentId.ToString("D"), (string?)user.Element(O + "DeploymentId"));
        var account = answer.Descendants(O + "Account").Single();
        Assert.Equal("email", (string?)account.Element(O + "AccountType"));
        Assert.Equal("settings", (string?)account.Element(O + "Action"));

        var mapi = Protocol(answer, "mapiHttp");
        Assert.Equal("1", (string?)mapi.Attribute("Version"));
        Assert.Equal($"https://cas.contoso.local/mapi/emsmdb/?MailboxId={point}", (string?)mapi.Element(O + "MailStore")!.Element(O + "InternalUrl"));
        Assert.Equal($"https://mail.contoso.com/mapi/emsmdb/?MailboxId={point}", (string?)mapi.Element(O + "MailStore")!.Element(O + "ExternalUrl"));
        Assert.Equal($"https://cas.contoso.local/mapi/nspi/?MailboxId={point}", (string?)mapi.Element(O + "AddressBook")!.Element(O + "InternalUrl"));
        Assert.Equal($"https://mail.contoso.com/mapi/nspi/?MailboxId={point}", (string?)mapi.Element(O + "AddressBook")!.Element(O + "ExternalUrl"));

        var exch = Protocol(answer, "EXCH");
        Assert.Equal(point, (string?)exch.Element(O + "Server"));
        Assert.EndsWith("/cn=Configuration/cn=Servers/cn=" + point, (string?)exch.Element(O + "ServerDN"), StringComparison.Ordinal);
        Assert.Equal("73C28608", (string?)exch.Element(O + "ServerVersion")); // 15.2.1544
        Assert.Equal("https://cas.contoso.local/EWS/Exchange.asmx", (string?)exch.Element(O + "EwsUrl"));
        Assert.Equal("https://cas.contoso.local/ecp/", (string?)exch.Element(O + "EcpUrl"));
        Assert.Equal("https://cas.contoso.local/OAB/", (string?)exch.Element(O + "OABUrl"));
        Assert.Equal("dc1.contoso.com", (string?)exch.Element(O + "AD"));
        var expr = Protocol(answer, "EXPR");
        Assert.Equal("mail.contoso.com", (string?)expr.Element(O + "Server"));
        Assert.Equal("https://mail.contoso.com/EWS/Exchange.asmx", (string?)expr.Element(O + "EwsUrl"));
        Assert.Equal("https://mail.contoso.com/OAB/", (string?)expr.Element(O + "OABUrl"));
        Assert.Equal("On", (string?)expr.Element(O + "SSL"));
        var web = Protocol(answer, "WEB");
        Assert.Equal("https://cas.contoso.local/owa/", (string?)web.Element(O + "Internal")!.Element(O + "OWAUrl"));
        Assert.Equal("https://mail.contoso.com/owa/", (string?)web.Element(O + "External")!.Element(O + "OWAUrl"));

        var listeners = deployment.Gateway.GetRequiredService<MailListeners>();
        var imap = Protocol(answer, "IMAP");
        Assert.Equal("mail.contoso.com", (string?)imap.Element(O + "Server"));
        Assert.Equal(listeners.EndPointOf(MailProtocol.Imap, implicitTls: true).Port, (int)imap.Element(O + "Port")!);
        Assert.Equal("SSL", (string?)imap.Element(O + "Encryption"));
        Assert.Equal("alice@contoso.com", (string?)imap.Element(O + "LoginName"));
        var pop = Protocol(answer, "POP3");
        Assert.Equal(listeners.EndPointOf(MailProtocol.Pop3, implicitTls: false).Port, (int)pop.Element(O + "Port")!);
        Assert.Equal("TLS", (string?)pop.Element(O + "Encryption"));
        var smtp = Protocol(answer, "SMTP");
        Assert.Equal("smtp.contoso.com", (string?)smtp.Element(O + "Server"));
        Assert.Equal(587, (int)smtp.Element(O + "Port")!);
        Assert.Equal("TLS", (string?)smtp.Element(O + "Encryption"));
    }

    [Fact]
    public async Task The_answers_MAPI_and_EWS_URLs_followed_by_the_same_client_reach_the_mailbox_server()
    {
        var answer = await PoxAsync("alice", Request("alice@contoso.com"));
        using var client = deployment.Client("alice");
        var mapiUrl = (string)Protocol(answer, "mapiHttp").Element(O + "MailStore")!.Element(O + "ExternalUrl")!;
        using var mapi = new HttpRequestMessage(HttpMethod.Post, mapiUrl) { Content = new ByteArrayContent([1, 2, 3]) };
        mapi.Headers.Add("X-RequestType", "Connect");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.SendAsync(mapi));
        Assert.Equal(("mbx1.contoso.com", "alice@contoso.com"), (served.Server, served.Mailbox));

        var ewsUrl = (string)Protocol(answer, "EXPR").Element(O + "EwsUrl")!;
        served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync(ewsUrl, AutodiscoverDeployment.Xml("<soap:Envelope/>")));
        Assert.Equal(("mbx1.contoso.com", "alice@contoso.com"), (served.Server, served.Mailbox));
    }

    [Fact]
    public async Task Mobile_schema_gives_the_ActiveSync_URL()
    {
        var answer = await PoxAsync("bob", Request("bob@contoso.com", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006", MobileRequest));
        var response = answer.Root!.Element(M + "Response")!;
        Assert.Equal("bob@contoso.com", (string?)response.Element(M + "User")!.Element(M + "EMailAddress"));
        var server = response.Element(M + "Action")!.Element(M + "Settings")!.Element(M + "Server")!;
        Assert.Equal("MobileSync", (string?)server.Element(M + "Type"));
        Assert.Equal("https://mail.contoso.com/Microsoft-Server-ActiveSync", (string?)server.Element(M + "Url"));

        using var client = deployment.Client("bob");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync((string)server.Element(M + "Url")! + "?Cmd=Sync&User=bob&DeviceId=D1&DeviceType=Phone", new ByteArrayContent([3, 1])));
        Assert.Equal("mbx2.contoso.com", served.Server);
    }

    [Fact]
    public async Task Another_site_with_its_own_namespace_gets_that_sites_URLs_and_they_reach_its_server()
    {
        var paris = deployment.Mailbox("paris");
        var answer = await PoxAsync("paris", Request("paris@contoso.com"));
        var mapi = Protocol(answer, "mapiHttp");
        // Per-family URLs of the site model (Gateway:Routing:Sites:Site2:ExternalUrls) win over the namespace's base.
        Assert.Equal($"https://outlook.paris.contoso.com/mapi/emsmdb/?MailboxId={paris.Guid:D}@contoso.com", (string?)mapi.Element(O + "MailStore")!.Element(O + "ExternalUrl"));
        Assert.Equal("https://webmail.paris.contoso.com/owa", (string?)Protocol(answer, "WEB").Element(O + "External")!.Element(O + "OWAUrl"));
        Assert.Null(mapi.Element(O + "MailStore")!.Element(O + "InternalUrl")); // Site2 publishes no internal namespace
        Assert.Equal("mail.paris.contoso.com", (string?)Protocol(answer, "EXPR").Element(O + "Server"));
        var ews = (string)Protocol(answer, "EXPR").Element(O + "EwsUrl")!;
        Assert.Equal("https://mail.paris.contoso.com/EWS/Exchange.asmx", ews);
        using var client = deployment.Client("paris");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync(ews, AutodiscoverDeployment.Xml("<soap:Envelope/>")));
        Assert.Equal("mbx3.contoso.com", served.Server);
    }

    [Fact]
    public async Task Another_site_without_a_namespace_gets_this_gateways_URLs_which_proxy_across()
    {
        var lyon = deployment.Mailbox("lyon");
        var answer = await PoxAsync("lyon", Request("lyon@contoso.com"));
        var mapiUrl = (string)Protocol(answer, "mapiHttp").Element(O + "MailStore")!.Element(O + "ExternalUrl")!;
        Assert.Equal($"https://mail.contoso.com/mapi/emsmdb/?MailboxId={lyon.Guid:D}@contoso.com", mapiUrl);
        Assert.Equal($"{lyon.Guid:D}@contoso.com", (string?)Protocol(answer, "EXCH").Element(O + "Server"));
        using var client = deployment.Client("lyon");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync(mapiUrl, new ByteArrayContent([1])));
        Assert.Equal(("mbx4.contoso.com", "lyon@contoso.com"), (served.Server, served.Mailbox));
    }

    [Theory]
    [InlineData("legacy10", "ex2010.contoso.com")]
    [InlineData("legacy07", "fe2007.contoso.com")]
    public async Task Older_versions_mailboxes_are_proxied_with_the_request_body_intact(string user, string server)
    {
        var body = Request(user + "@contoso.com");
        using var client = deployment.Client(user);
        var served = await AutodiscoverDeployment.ServedByAsync(await client.PostAsync("/autodiscover/autodiscover.xml", AutodiscoverDeployment.Xml(body)));
        Assert.Equal(server, served.Server);
        Assert.Equal(Encoding.UTF8.GetByteCount(body), served.BodyBytes);
    }

    [Theory]
    [InlineData("http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a", OutlookRequest)]
    [InlineData("http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006", MobileRequest)]
    public async Task A_cloud_mailbox_is_told_its_cloud_address(string schema, string ns)
    {
        var answer = await PoxAsync("cloudy", Request("cloudy@contoso.com", schema, ns));
        if (ns == OutlookRequest)
        {
            var account = answer.Descendants(O + "Account").Single();
            Assert.Equal("redirectAddr", (string?)account.Element(O + "Action"));
            Assert.Equal("cloudy@contoso.mail.onmicrosoft.com", (string?)account.Element(O + "RedirectAddr"));
        }
        else
        {
            Assert.Equal("cloudy@contoso.mail.onmicrosoft.com", (string?)answer.Descendants(M + "Redirect").Single());
        }
        Assert.DoesNotContain(deployment.Mailbox("cloudy").Guid.ToString("D"), answer.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("nobody@contoso.com")]
    [InlineData("bob@contoso.com")]
    [InlineData("{bob}@contoso.com")]
    [InlineData("paris@contoso.com")]
    public async Task Unknown_and_other_users_addresses_get_the_same_schema_error_and_no_GUID(string address)
    {
        var bob = deployment.Mailbox("bob");
        var answer = await PoxAsync("alice", Request(address.Replace("{bob}", bob.Guid.ToString("D"), StringComparison.Ordinal)));
        var error = answer.Root!.Element(R + "Response")!.Element(R + "Error")!;
        Assert.Equal("500", (string?)error.Element(R + "ErrorCode"));
        Assert.Equal("The email address can't be found.", (string?)error.Element(R + "Message"));
        var text = answer.ToString();
        foreach (var mailbox in deployment.Topology.Directory.Mailboxes)
        {
            Assert.DoesNotContain(mailbox.Guid.ToString("D"), text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(mailbox.Guid.ToString("N"), text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task An_alias_and_the_users_legacy_DN_answer_for_the_primary_address()
    {
        var alice = deployment.Mailbox("alice");
        var byAlias = await PoxAsync("alice", Request("alice.smith@contoso.com"));
        Assert.Equal("alice@contoso.com", (string?)byAlias.Descendants(O + "AutoDiscoverSMTPAddress").Single());
        var legacyDn = (string)byAlias.Descendants(O + "LegacyDN").Single();
        var byDn = await PoxAsync("alice", $"<Autodiscover xmlns=\"{OutlookRequest}\"><Request><LegacyDN>{legacyDn}</LegacyDN><AcceptableResponseSchema>{O.NamespaceName}</AcceptableResponseSchema></Request></Autodiscover>");
        Assert.Equal($"{alice.Guid:D}@contoso.com", (string?)Protocol(byDn, "EXCH").Element(O + "Server"));
    }

    public static TheoryData<string, string> BadRequests() => new()
    {
        { "not XML", "this is not xml" },
        { "truncated", "<Autodiscover><Request><EMailAddress>alice@contoso.com" },
        { "empty", "" },
        { "DTD (entity expansion)", "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xxxxxxxxxx\"><!ENTITY y \"&x;&x;&x;&x;&x;&x;&x;&x;\">]><Autodiscover><Request><EMailAddress>&y;</EMailAddress></Request></Autodiscover>" },
        { "external entity", "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>" },
        { "wrong root", "<Foo><Request/></Foo>" },
        { "too large", "<Autodiscover><Request><EMailAddress>" + new string('a', 70_000) + "</EMailAddress></Request></Autodiscover>" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Malformed_requests_get_the_schemas_error_600_never_a_500(string name, string body)
    {
        var answer = await PoxAsync("alice", body);
        var error = answer.Root!.Element(R + "Response")!.Element(R + "Error")!;
        Assert.True("600" == (string?)error.Element(R + "ErrorCode"), name);
        Assert.Equal("Invalid Request", (string?)error.Element(R + "Message"));
        Assert.DoesNotContain("root:", answer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_response_schema_gets_error_601()
    {
        var answer = await PoxAsync("alice", Request("alice@contoso.com", "http://example.com/other"));
        Assert.Equal("601", (string?)answer.Descendants(R + "ErrorCode").Single());
    }

    [Fact]
    public async Task Admins_see_the_answer_a_user_gets_and_why()
    {
        var paris = deployment.Mailbox("paris");
        using var admin = deployment.Client("alice");
        using var response = await admin.PostAsJsonAsync("/admin/explain/autodiscover", new { User = "paris@contoso.com" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = System.Text.Json.JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("Settings", root.GetProperty("answer").GetString());
        Assert.Equal("CrossSiteProxy", root.GetProperty("rule").GetString());
        Assert.Equal("Site2", root.GetProperty("site").GetString());
        Assert.Equal($"{paris.Guid:D}@contoso.com", root.GetProperty("connectionPoint").GetString());
        var outlook = XDocument.Parse(root.GetProperty("outlook").GetString()!);
        Assert.Equal("mail.paris.contoso.com", (string?)Protocol(outlook, "EXPR").Element(O + "Server"));

        using var cloud = await admin.PostAsJsonAsync("/admin/explain/autodiscover", new { User = "cloudy@contoso.com" });
        using var cloudJson = System.Text.Json.JsonDocument.Parse(await cloud.Content.ReadAsStringAsync());
        Assert.Equal("RedirectAddress", cloudJson.RootElement.GetProperty("answer").GetString());

        using var notAdmin = deployment.Client("bob");
        using var refused = await notAdmin.PostAsJsonAsync("/admin/explain/autodiscover", new { User = "alice@contoso.com" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task Without_credentials_POX_is_challenged()
    {
        using var client = deployment.Client(null);
        using var response = await client.PostAsync("/autodiscover/autodiscover.xml", AutodiscoverDeployment.Xml(Request("alice@contoso.com")));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Other_autodiscover_paths_are_still_proxied()
    {
        using var client = deployment.Client("alice");
        var served = await AutodiscoverDeployment.ServedByAsync(await client.GetAsync("/autodiscover/bob@contoso.com/autodiscover.xml"));
        Assert.Equal(("mbx2.contoso.com", "bob@contoso.com"), (served.Server, served.Mailbox));
    }
}
