using System.Net;
using System.Net.Sockets;
using System.Text;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Routing;

/// <summary>
/// Issue 3: each protocol family's hints, shaped as its real client sends them, land on the right backend with the
/// path and body intact. alice (caller) is on mbx1; bob on mbx2; the OAB is served by a mailbox on mbx2.
/// </summary>
/// <summary>The deployment the family routing tests share (they only read it).</summary>
public sealed class FamilyDeployment : IAsyncLifetime
{
    public static readonly Guid OabGuid = Guid.Parse("0ab00000-1111-4222-8333-444455556666");
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public TestTopology Topology => _topology;

    public TestGateway Gateway => _gateway;

    public HttpClient Client => _client;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _topology.Directory.AddMailbox("oab-generator@contoso.com", "DB02", withPassword: false);
        _topology.Directory.OfflineAddressBooks[OabGuid] = "oab-generator@contoso.com";
        _topology.Directory.Save();
        _gateway = await TestGateway.StartAsync(_topology, new Dictionary<string, string?>
        {
            ["Gateway:Site"] = "Site1",
            ["Gateway:Health:AdminUsers:0"] = "alice@contoso.com",
            ["Gateway:Autodiscover:Enabled"] = "false", // these rows test the proxy path; tests/…/Autodiscover cover the answers
        });
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

}

public sealed class FamilyRoutingTests(FamilyDeployment deployment) : IClassFixture<FamilyDeployment>
{
    private TestTopology _topology => deployment.Topology;

    private TestGateway _gateway => deployment.Gateway;

    private HttpClient _client => deployment.Client;

    /// <summary>family row: method, path+query, extra headers ("Name: value" lines), body, expected server, expected mailbox.</summary>
    public static TheoryData<string, string, string, string, string?, string, string> Rows()
    {
        const string bobGuid = "{bob}";
        return new()
        {
            // OWA
            { "OWA user", "GET", "/owa/", "", null, "mbx1", "alice" },
            { "OWA explicit logon", "GET", "/owa/bob@contoso.com/service.svc?action=GetFolder", "", null, "mbx2", "bob" },
            { "OWA explicit logon header", "POST", "/owa/service.svc?action=GetFolder", "X-OWA-ExplicitLogonUser: bob@contoso.com", "{\"x\":1}", "mbx2", "bob" },
            { "OWA anchor header", "GET", "/owa/", "X-AnchorMailbox: bob@contoso.com", null, "mbx2", "bob" },
            { "OWA path beats header", "GET", "/owa/bob@contoso.com/", "X-AnchorMailbox: alice@contoso.com", null, "mbx2", "bob" },
            // ECP
            { "ECP user", "GET", "/ecp/", "", null, "mbx1", "alice" },
            { "ECP explicit logon", "GET", "/ecp/bob@contoso.com/default.aspx", "", null, "mbx2", "bob" },
            { "ECP anchor header", "GET", "/ecp/default.aspx", "X-AnchorMailbox: bob@contoso.com", null, "mbx2", "bob" },
            // EWS
            { "EWS user", "POST", "/EWS/Exchange.asmx", "SOAPAction: \"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder\"", "<soap:Envelope/>", "mbx1", "alice" },
            { "EWS anchor SMTP", "POST", "/EWS/Exchange.asmx", "X-AnchorMailbox: bob@contoso.com", "<soap:Envelope/>", "mbx2", "bob" },
            { "EWS anchor GUID", "POST", "/EWS/Exchange.asmx", $"X-AnchorMailbox: {bobGuid}@contoso.com", "<soap:Envelope/>", "mbx2", "bob" },
            { "EWS anchor alias", "POST", "/ews/exchange.asmx", "X-AnchorMailbox: alice.smith@contoso.com", "<soap:Envelope/>", "mbx1", "alice" },
            // ActiveSync
            { "ActiveSync user", "POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice%40contoso.com&DeviceId=ABC123&DeviceType=iPhone", "MS-ASProtocolVersion: 16.1", "\u0003\u0001j\u0000", "mbx1", "alice" },
            { "ActiveSync anchor", "POST", "/Microsoft-Server-ActiveSync?Cmd=Ping&User=bob&DeviceId=D2&DeviceType=Android", "X-AnchorMailbox: bob@contoso.com", "\u0003\u0001j\u0000", "mbx2", "bob" },
            // MAPI over HTTP
            { "MAPI mailboxId", "POST", $"/mapi/emsmdb/?MailboxId={bobGuid}@contoso.com", "X-RequestType: Connect\nX-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}", "mapi-connect", "mbx2", "bob" },
            { "MAPI nspi mailboxId", "POST", $"/mapi/nspi/?MailboxId={bobGuid}@contoso.com", "X-RequestType: Bind", "nspi-bind", "mbx2", "bob" },
            { "MAPI smtpAddress", "POST", "/mapi/emsmdb/?smtpAddress=bob@contoso.com", "X-RequestType: Connect", "mapi-connect", "mbx2", "bob" },
            { "MAPI authenticated user", "POST", "/mapi/emsmdb/?useMailboxOfAuthenticatedUser=true", "X-RequestType: Connect", "mapi-connect", "mbx1", "alice" },
            { "MAPI GET without hint", "GET", "/mapi/emsmdb/", "", null, "mbx1", "alice" },
            // RPC over HTTP (Outlook Anywhere)
            { "RPC_IN_DATA", "RPC_IN_DATA", $"/rpc/rpcproxy.dll?{bobGuid}@contoso.com:6001", "", "rpc-in-data-bytes", "mbx2", "bob" },
            { "RPC_OUT_DATA", "RPC_OUT_DATA", $"/rpc/rpcproxy.dll?{bobGuid}@contoso.com:6004", "", "x", "mbx2", "bob" },
            // Autodiscover
            { "Autodiscover POX user", "POST", "/autodiscover/autodiscover.xml", "Content-Type: text/xml", "<Autodiscover><Request><EMailAddress>alice@contoso.com</EMailAddress></Request></Autodiscover>", "mbx1", "alice" },
            { "Autodiscover path", "GET", "/autodiscover/bob@contoso.com/autodiscover.xml", "", null, "mbx2", "bob" },
            { "Autodiscover json Email", "GET", "/autodiscover/autodiscover.json?Email=bob%40contoso.com&Protocol=Ews", "", null, "mbx2", "bob" },
            { "Autodiscover json v1.0", "GET", "/autodiscover/autodiscover.json/v1.0/bob@contoso.com?Protocol=ActiveSync", "", null, "mbx2", "bob" },
            { "Autodiscover header beats path", "GET", "/autodiscover/alice@contoso.com/x", "X-AnchorMailbox: bob@contoso.com", null, "mbx2", "bob" },
            // OAB
            { "OAB by GUID", "GET", "/OAB/0ab00000-1111-4222-8333-444455556666/oab.xml", "", null, "mbx2", "oab-generator" },
            { "OAB root", "GET", "/OAB/", "", null, "mbx1", "alice" },
            // PowerShell
            { "PowerShell TargetServer", "POST", "/powershell/?TargetServer=mbx2.contoso.com&PSVersion=5.1", "", "<wsman/>", "mbx2", "" },
        };
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Request_lands_on_the_right_backend_with_path_and_body_intact(
        string row, string method, string path, string headers, string? body, string server, string mailbox)
    {
        var bob = _topology.Directory.Mailbox("bob@contoso.com");
        path = path.Replace("{bob}", bob.Guid.ToString(), StringComparison.Ordinal);
        headers = headers.Replace("{bob}", bob.Guid.ToString(), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        foreach (var line in headers.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (name, value) = (line[..colon], line[(colon + 1)..].Trim());
            if (name == "Content-Type")
            {
                continue;
            }
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        }

        using var response = await _client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();
        var explained = await _client.ExplainAsync(request, "alice@contoso.com", _topology.Directory.Mailbox("alice@contoso.com"));

        Assert.True($"{server}.contoso.com" == answer.Server, $"{row}: went to {answer.Server}");
        Assert.Equal(answer.Server, explained.Target);
        Assert.Equal("Proxy", explained.Decision);
        Assert.Equal(mailbox.Length == 0 ? "" : $"{mailbox}@contoso.com", answer.Mailbox);
        Assert.Equal(method, answer.Method);
        var expectedPath = path.Split('?')[0];
        Assert.Equal(expectedPath, answer.Path);
        Assert.Equal(path.Contains('?', StringComparison.Ordinal) ? "?" + path.Split('?', 2)[1] : "", answer.Query);
        Assert.Equal("alice@contoso.com", answer.IdentityUser);
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        Assert.Equal(bytes.Length, answer.BodyBytes);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes)), answer.BodySha256);
    }

    [Fact]
    public async Task PowerShell_without_target_goes_to_a_server_of_this_site()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/powershell/?PSVersion=5.1") { Content = new StringContent("<wsman/>") };
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Contains(answer.Server, new[] { "mbx1.contoso.com", "mbx2.contoso.com" });
    }

    public static TheoryData<string, string, string, string, HttpStatusCode> Refusals() => new()
    {
        { "MAPI POST without hint", "POST", "/mapi/emsmdb/", "", HttpStatusCode.BadRequest },
        { "MAPI bad mailboxId", "POST", "/mapi/emsmdb/?mailboxId=not-a-guid", "", HttpStatusCode.BadRequest },
        { "RPC empty query", "RPC_IN_DATA", "/rpc/rpcproxy.dll", "", HttpStatusCode.NotFound },
        { "RPC wrong port", "RPC_IN_DATA", "/rpc/rpcproxy.dll?{bob}@contoso.com:80", "", HttpStatusCode.BadRequest },
        { "RPC SMTP server", "RPC_IN_DATA", "/rpc/rpcproxy.dll?bob@contoso.com:6001", "", HttpStatusCode.BadRequest },
        { "traversal in header", "GET", "/EWS/Exchange.asmx", "X-AnchorMailbox: ../../etc/passwd@contoso.com", HttpStatusCode.BadRequest },
        { "traversal in explicit logon", "GET", "/owa/..%2F..%2Fetc@contoso.com/", "", HttpStatusCode.BadRequest },
        { "CRLF in explicit logon", "GET", "/owa/bob%0D%0AX-Evil:1@contoso.com/", "", HttpStatusCode.BadRequest },
        { "CRLF in mailboxId", "POST", "/mapi/emsmdb/?mailboxId=%0D%0Abob@contoso.com", "", HttpStatusCode.BadRequest },
        { "malformed GUID", "RPC_IN_DATA", "/rpc/rpcproxy.dll?1234-zz@contoso.com:6001", "", HttpStatusCode.BadRequest },
        { "unknown TargetServer", "POST", "/powershell/?TargetServer=evil.example.net", "", HttpStatusCode.BadRequest },
        { "two anchor headers", "GET", "/EWS/Exchange.asmx", "X-AnchorMailbox: bob@contoso.com\nX-AnchorMailbox: alice@contoso.com", HttpStatusCode.BadRequest },
        { "OAB bad GUID", "GET", "/OAB/not-a-guid/oab.xml", "", HttpStatusCode.BadRequest },
        { "outside every family", "GET", "/exchange/bob/", "", HttpStatusCode.NotFound },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Hostile_or_missing_hints_are_refused_and_nothing_is_forwarded(string row, string method, string path, string headers, HttpStatusCode status)
    {
        path = path.Replace("{bob}", _topology.Directory.Mailbox("bob@contoso.com").Guid.ToString(), StringComparison.Ordinal);
        var before = BackendRequests();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        foreach (var line in headers.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            request.Headers.TryAddWithoutValidation(line[..colon], line[(colon + 1)..].Trim());
        }
        using var response = await _client.SendAsync(request);
        Assert.True(status == response.StatusCode, $"{row}: got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(before, BackendRequests());
        var explained = await _client.ExplainAsync(request, "alice@contoso.com", _topology.Directory.Mailbox("alice@contoso.com"));
        Assert.Equal("Reject", explained.Decision);
        Assert.Equal((int)status, explained.Status);
    }

    [Fact]
    public async Task A_64_KB_anchor_header_is_refused_with_400_and_nothing_is_forwarded()
    {
        var before = BackendRequests();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.TryAddWithoutValidation("X-AnchorMailbox", new string('a', 64 * 1024) + "@contoso.com");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, BackendRequests());
    }

    [Fact]
    public async Task Raw_CR_LF_smuggled_into_a_header_value_is_refused()
    {
        // Sent on a raw TLS socket: HttpClient will not even write such a request.
        var before = BackendRequests();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _gateway.BaseAddress.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
        });
        var basic = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        var raw = $"GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {basic.Parameter}\r\nX-AnchorMailbox: bob@contoso.com\rX-Evil: 1\r\nConnection: close\r\n\r\n";
        await tls.WriteAsync(Encoding.ASCII.GetBytes(raw));
        using var reader = new StreamReader(tls, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync();
        Assert.StartsWith("HTTP/1.1 400", statusLine, StringComparison.Ordinal);
        Assert.Equal(before, BackendRequests());
    }

    private int BackendRequests() => _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("bob@contoso.com", HttpStatusCode.Forbidden)]
    [InlineData("alice@contoso.com", HttpStatusCode.OK)]
    public async Task Only_admins_may_ask_how_a_request_would_be_routed(string? caller, HttpStatusCode expected)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, "/admin/explain")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new CasGateway.Routing.ExplainRequest("GET", new Uri(_client.BaseAddress!, "/owa/").ToString(), null, "bob@contoso.com")),
        };
        if (caller is not null)
        {
            message.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(caller));
        }
        using var response = await _client.SendAsync(message);
        Assert.Equal(expected, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        // Nothing about bob's mailbox leaks to a caller who may not ask.
        Assert.Equal(expected == HttpStatusCode.OK, body.Contains("mbx2.contoso.com", StringComparison.Ordinal));
    }
}
