using System.Net;
using System.Text;
using CasGateway.DemoBackend;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// Issue 15 item 1: CR, LF, NUL and non-ASCII bytes — raw and percent-encoded — in cookies, every routing hint and
/// any other header, over HTTP/1.1 and HTTP/2: refused before any backend is contacted, and no backend is blamed.
/// </summary>
public sealed class InjectionTests(SecurityDeployment deployment) : IClassFixture<SecurityDeployment>
{
    private const string Alice = "alice@contoso.com";

    /// <summary>(target, header name or null, header value): each carries a hostile byte where the gateway reads or forwards it.</summary>
    public static TheoryData<string, string, string?, string> Cases()
    {
        var data = new TheoryData<string, string, string?, string>();
        void Add(string name, string target, string? header, string value) => data.Add(name, target, header, value);
        // The issue's own reproduction, and its variants.
        Add("cookie encoded CRLF", "/owa/", "Cookie", "X-BackEndCookie=x; b=%0D%0AAuthorization:%20Injected");
        Add("cookie encoded LF", "/owa/", "Cookie", "b=%0aContent-Length:%200");
        Add("cookie encoded NUL", "/owa/", "Cookie", "b=x%00y");
        Add("cookie raw NUL", "/owa/", "Cookie", "b=x\0y");
        Add("cookie raw CR", "/owa/", "Cookie", "b=x\ry");
        Add("cookie raw non-ASCII", "/owa/", "Cookie", "b=\u00c3\u00a9");
        foreach (var (hint, target) in new[] { ("X-AnchorMailbox", "/EWS/Exchange.asmx"), ("X-OWA-ExplicitLogonUser", "/owa/") })
        {
            Add(hint + " encoded CRLF", target, hint, "bob@contoso.com%0D%0AAuthorization:%20Injected");
            Add(hint + " encoded NUL", target, hint, "bob%00@contoso.com");
            Add(hint + " raw NUL", target, hint, "bob\0@contoso.com");
            Add(hint + " raw CR", target, hint, "bob@contoso.com\rX: y");
            Add(hint + " raw non-ASCII", target, hint, "b\u00c3\u00a9b@contoso.com");
        }
        Add("other header raw non-ASCII", "/owa/", "X-Client-Note", "caf\u00c3\u00a9");
        Add("other header raw NUL", "/owa/", "User-Agent", "x\0y");
        Add("explicit logon path encoded CRLF", "/owa/bob@contoso.com%0D%0AX:%20y/", null, "");
        Add("explicit logon path encoded NUL", "/owa/bob%00@contoso.com/", null, "");
        Add("explicit logon path encoded non-ASCII", "/owa/b%C3%A9b@contoso.com/", null, "");
        Add("mailboxId encoded CRLF", "/mapi/emsmdb/?mailboxId=bob%0D%0A@contoso.com", null, "");
        Add("mailboxId encoded non-ASCII", "/mapi/emsmdb/?mailboxId=b%C3%A9b@contoso.com", null, "");
        Add("smtpAddress encoded NUL", "/mapi/emsmdb/?smtpAddress=bob%00@contoso.com", null, "");
        Add("Autodiscover Email encoded LF", "/autodiscover/autodiscover.json?Email=bob%0A@contoso.com", null, "");
        Add("TargetServer encoded CRLF", "/powershell/?TargetServer=mbx1.contoso.com%0D%0AX:%20y", null, "");
        Add("TargetServer encoded non-ASCII", "/powershell/?TargetServer=mbx%C3%A9.contoso.com", null, "");
        Add("query encoded CR", "/EWS/Exchange.asmx?x=%0d", null, "");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Http1_hostile_bytes_are_refused_before_any_backend(string name, string target, string? header, string value)
    {
        var before = deployment.BackendRequests;
        var request = header is null
            ? deployment.Http1Get(Alice, Encoding.Latin1.GetBytes(target))
            : deployment.Http1Get(Alice, Encoding.Latin1.GetBytes(target), (header, Encoding.Latin1.GetBytes(value)));
        var answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate, request);

        Assert.True(answer.Status == 400, $"{name}: expected 400, got {answer.Status}: {answer.Head}\n{answer.Body}");
        Assert.DoesNotContain("Injected", answer.Body, StringComparison.Ordinal);
        Assert.Equal(before, deployment.BackendRequests);
        await deployment.AssertNoBackendMarkedUnhealthyAsync();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Http2_hostile_bytes_are_refused_before_any_backend(string name, string target, string? header, string value)
    {
        var before = deployment.BackendRequests;
        List<(string, byte[])> headers = [("authorization", Encoding.ASCII.GetBytes(deployment.BasicOf(Alice)))];
        if (header is not null)
        {
            headers.Add((header, Encoding.Latin1.GetBytes(value)));
        }
        var answer = await RawClients.Http2Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate, Encoding.Latin1.GetBytes(target), headers);

        Assert.True(answer.Refused, $"{name}: expected 400 or a reset stream, got {answer.Status}: {answer.Body}");
        Assert.Equal(before, deployment.BackendRequests);
        await deployment.AssertNoBackendMarkedUnhealthyAsync();
    }

    [Fact]
    public async Task Hostile_requests_in_numbers_never_take_a_server_out_of_rotation()
    {
        using var client = deployment.Gateway.CreateClient();
        for (var i = 0; i < 30; i++)
        {
            var answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate,
                deployment.Http1Get(Alice, "/owa/"u8.ToArray(), ("Cookie", Encoding.Latin1.GetBytes("b=%C3%A9; c=\u00c3\u00a9"))));
            Assert.Equal(400, answer.Status);
        }
        await deployment.AssertNoBackendMarkedUnhealthyAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(deployment.Topology.Directory.Mailbox(Alice));
        using var response = await client.SendAsync(request);
        Assert.Equal("mbx1.contoso.com", (await response.ReadAnswerAsync()).Server);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Other_cookies_reach_the_backend_byte_for_byte_without_the_gateways_own(bool http2)
    {
        using var client = deployment.Gateway.CreateClient(http2: http2);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(deployment.Topology.Directory.Mailbox(Alice));
        request.Headers.TryAddWithoutValidation("Cookie", "a=%C3%A9;X-BackEndCookie=forged;  b=\"q u\" ; flag; c=%2541");
        using var response = await client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();

        Assert.Equal("a=%C3%A9; b=\"q u\"; flag; c=%2541", answer.Cookie);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Refusals_do_not_echo_client_input_and_are_not_sniffed()
    {
        using var client = deployment.Gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(deployment.Topology.Directory.Mailbox(Alice));
        request.Headers.TryAddWithoutValidation("X-AnchorMailbox", "<script>alert(1)</script>@contoso.com");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.DoesNotContain("script", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        using var unknown = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        unknown.Headers.Authorization = TestGateway.Basic(deployment.Topology.Directory.Mailbox(Alice));
        unknown.Headers.Add("X-AnchorMailbox", "nobody-xyz@contoso.com");
        using var notFound = await client.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.DoesNotContain("nobody-xyz", await notFound.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
