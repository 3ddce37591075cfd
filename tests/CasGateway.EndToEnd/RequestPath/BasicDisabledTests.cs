using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using CasGateway.Routing;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>
/// Issue 16 gap: <c>Gateway:Authentication:BasicEnabled=false</c> end to end — Basic is refused even with the right
/// password (and not offered), bearer tokens still work, and admins are known by their role alone.
/// </summary>
public sealed class BasicDisabledTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private OidcServer _issuer = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _issuer = await OidcServer.StartAsync();
        var settings = _issuer.GatewaySettings();
        settings["Gateway:Authentication:BasicEnabled"] = "false";
        settings["Gateway:Health:AdminUsers:0"] = "alice@contoso.com";
        _gateway = await TestGateway.StartAsync(_topology, settings);
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _issuer, _topology);
    }

    [Fact]
    public async Task Basic_with_the_right_password_is_refused_and_only_bearer_is_offered()
    {
        var before = BackendRequests();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.DoesNotContain(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Equal(before, BackendRequests());
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    public async Task Bearer_tokens_still_reach_the_users_mailbox_server(string user, string server)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.IssueToken(user));
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();

        Assert.Equal(server, answer.Server);
        Assert.Equal(user, answer.IdentityUser);
        Assert.Equal("Bearer", answer.IdentityAuthenticationMethod);
    }

    [Fact]
    public async Task Explain_takes_an_admin_role_in_a_token_and_no_longer_a_basic_admin_user()
    {
        var described = new ExplainRequest("GET", new Uri(_gateway.BaseAddress, "/owa/").ToString(), null, "bob@contoso.com");

        using var basicAdmin = new HttpRequestMessage(HttpMethod.Post, "/admin/explain") { Content = JsonContent.Create(described) };
        basicAdmin.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(basicAdmin)).StatusCode);

        using var noRole = new HttpRequestMessage(HttpMethod.Post, "/admin/explain") { Content = JsonContent.Create(described) };
        noRole.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.IssueToken("alice@contoso.com"));
        Assert.Equal(HttpStatusCode.Forbidden, (await _client.SendAsync(noRole)).StatusCode);

        using var admin = new HttpRequestMessage(HttpMethod.Post, "/admin/explain") { Content = JsonContent.Create(described) };
        admin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _issuer.IssueToken("carol@contoso.com", extraClaims: [new Claim("roles", "CasGateway.Admin")]));
        using var answered = await _client.SendAsync(admin);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var plan = (await answered.Content.ReadFromJsonAsync<ExplainAnswer>())!;
        Assert.Equal("mbx2.contoso.com", plan.Target);
        Assert.Equal("bob@contoso.com", plan.Mailbox);
    }

    private int BackendRequests() => _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;
}
