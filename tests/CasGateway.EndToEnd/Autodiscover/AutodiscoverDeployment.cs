using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Autodiscover;

/// <summary>
/// The deployment the Autodiscover tests share (they only read it). Site1 (this gateway): mbx1 (alice, carol),
/// mbx2 (bob), ex2010 + its front end fe2010, ex2007 + fe2007. Site2 publishes its own namespace: mbx3 (paris).
/// Site3 publishes none: mbx4 (lyon). cloudy lives in the cloud. The gateway listens for IMAP (implicit TLS) and
/// POP3 (STARTTLS) on free ports and publishes an SMTP submission endpoint.
/// </summary>
public sealed class AutodiscoverDeployment : IAsyncLifetime
{
    public const string ExternalUrl = "https://mail.contoso.com";
    public const string InternalUrl = "https://cas.contoso.local";
    public const string ParisUrl = "https://mail.paris.contoso.com";
    public static readonly Guid DeploymentId = Guid.Parse("d3c1a9f0-4b2e-4c6d-9e8f-0a1b2c3d4e5f");

    public TestTopology Topology { get; private set; } = null!;

    public TestGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        var d = Topology.Directory;
        await Topology.AddServerAsync("mbx3.contoso.com", "Site2", "15.2.1544.4");
        await Topology.AddServerAsync("mbx4.contoso.com", "Site3", "15.2.1544.4");
        await Topology.AddServerAsync("ex2010.contoso.com", "Site1", "14.3.513.0");
        await Topology.AddServerAsync("fe2010.contoso.com", "Site1", "14.3.513.0", frontEnd: true);
        await Topology.AddServerAsync("ex2007.contoso.com", "Site1", "8.3.83.6");
        await Topology.AddServerAsync("fe2007.contoso.com", "Site1", "8.3.83.6", frontEnd: true);
        d.Databases.Add(("DB03", Guid.NewGuid(), ["mbx3.contoso.com"], "mbx3.contoso.com"));
        d.Databases.Add(("DB04", Guid.NewGuid(), ["mbx4.contoso.com"], "mbx4.contoso.com"));
        d.Databases.Add(("DB10", Guid.NewGuid(), ["ex2010.contoso.com"], "ex2010.contoso.com"));
        d.Databases.Add(("DB07", Guid.NewGuid(), ["ex2007.contoso.com"], "ex2007.contoso.com"));
        d.AddMailbox("paris@contoso.com", "DB03");
        d.AddMailbox("lyon@contoso.com", "DB04");
        d.AddMailbox("legacy10@contoso.com", "DB10");
        d.AddMailbox("legacy07@contoso.com", "DB07");
        d.AddMailbox("cloudy@contoso.com", "DB01");
        d.CloudMailboxes["cloudy@contoso.com"] = "cloudy@contoso.mail.onmicrosoft.com";
        d.Save();
        Gateway = await TestGateway.StartAsync(Topology, new Dictionary<string, string?>
        {
            ["Gateway:Site"] = "Site1",
            ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com",
            ["Gateway:Routing:LegacyNamespace"] = "https://legacy.contoso.com",
            ["Gateway:Autodiscover:Enabled"] = "true",
            ["Gateway:Autodiscover:DeploymentId"] = DeploymentId.ToString(),
            ["Gateway:Autodiscover:Organization"] = "Contoso",
            ["Gateway:Autodiscover:ExternalUrl"] = ExternalUrl,
            ["Gateway:Autodiscover:InternalUrl"] = InternalUrl,
            ["Gateway:Autodiscover:Sites:Site2:ExternalUrl"] = ParisUrl,
            ["Gateway:Routing:Sites:Site2:ExternalUrls:Mapi"] = "https://outlook.paris.contoso.com/mapi",
            ["Gateway:Routing:Sites:Site2:ExternalUrls:Owa"] = "https://webmail.paris.contoso.com/owa",
            ["Gateway:Autodiscover:ActiveDirectoryServer"] = "dc1.contoso.com",
            ["Gateway:Autodiscover:Mail:Smtp:Host"] = "smtp.contoso.com",
            ["Gateway:Autodiscover:Mail:Smtp:Port"] = "587",
            ["Gateway:Autodiscover:Mail:Smtp:Encryption"] = "StartTls",
            ["Gateway:Mail:Imap:ImplicitTlsPort"] = "0",
            ["Gateway:Mail:Pop:StartTlsPort"] = "0",
            ["Gateway:Mail:Backend:MasterUser"] = "gateway-master",
            ["Gateway:Mail:Backend:MasterPassword"] = "not-used-by-these-tests",
        });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Topology.DisposeAsync();
    }

    public TestMailbox Mailbox(string name) => Topology.Directory.Mailbox(name + "@contoso.com");

    /// <summary>
    /// A client whose resolver sends every host name to this gateway (as DNS would for the published namespaces),
    /// trusting exactly its certificate, signed in as <paramref name="user"/> (anonymous when null).
    /// </summary>
    public HttpClient Client(string? user)
    {
        var port = Gateway.BaseAddress.Port;
        var trusted = Gateway.ServerCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == trusted,
            },
        };
        var client = new HttpClient(handler) { BaseAddress = new Uri(ExternalUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = TestGateway.Basic(Mailbox(user));
        }
        return client;
    }

    /// <summary>The demo mailbox server's answer (which server, for which mailbox) to a request the client followed.</summary>
    public static async Task<(string Server, string Mailbox, long BodyBytes)> ServedByAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        using var json = JsonDocument.Parse(text);
        return (json.RootElement.GetProperty("server").GetString()!, json.RootElement.GetProperty("mailbox").GetString()!, json.RootElement.GetProperty("bodyBytes").GetInt64());
    }

    public static StringContent Xml(string xml) => new(xml, Encoding.UTF8, new MediaTypeHeaderValue("text/xml"));

    public static async Task<XDocument> ParseAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        Assert.StartsWith("text/xml", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return XDocument.Parse(text);
    }
}
