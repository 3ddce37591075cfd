using System.Net;
using System.Net.Http.Headers;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>Issue 2: bearer tokens validated in full by Microsoft.Identity.Web against a local issuer.</summary>
public sealed class BearerTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private OidcServer _issuer = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _issuer = await OidcServer.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, _issuer.GatewaySettings());
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _issuer, _topology);
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    public async Task Valid_token_reaches_own_mailbox_server(string user, string server)
    {
        using var response = await SendAsync(_issuer.IssueToken(user));
        var answer = await response.ReadAnswerAsync();
        Assert.Equal(server, answer.Server);
        Assert.Equal(user, answer.Mailbox);
        Assert.Equal(user, answer.IdentityUser);
        Assert.Equal("Bearer", answer.IdentityAuthenticationMethod);
        Assert.Equal("", answer.Authorization);
    }

    public static TheoryData<string, Func<OidcServer, string>> SpoiledTokens => new()
    {
        { "expired", issuer => issuer.IssueToken("alice@contoso.com", expires: DateTime.UtcNow.AddMinutes(-10)) },
        { "wrong audience", issuer => issuer.IssueToken("alice@contoso.com", audience: Guid.NewGuid().ToString()) },
        { "bad signature", issuer => issuer.IssueToken("alice@contoso.com", signingKey: OidcServer.ForeignKey()) },
        { "foreign issuer", issuer => issuer.IssueToken("alice@contoso.com", issuer: $"https://login.example.net/{Guid.NewGuid()}/v2.0") },
        { "tampered", issuer => Tamper(issuer.IssueToken("alice@contoso.com")) },
    };

    [Theory]
    [MemberData(nameof(SpoiledTokens))]
    public async Task Spoiled_token_gets_401_with_bearer_challenge_and_no_backend_call(string why, Func<OidcServer, string> token)
    {
        var before = _topology.Backend("mbx1.contoso.com").Requests;
        using var response = await SendAsync(token(_issuer));
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{why}: got {(int)response.StatusCode}");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
    }

    [Fact]
    public async Task Without_credentials_both_schemes_are_offered()
    {
        using var response = await _client.GetAsync("/owa/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Basic_still_works_beside_bearer()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        Assert.Equal("mbx2.contoso.com", (await (await _client.SendAsync(request)).ReadAnswerAsync()).Server);
    }

    private Task<HttpResponseMessage> SendAsync(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return _client.SendAsync(request);
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]).Replace("alice@contoso.com", "bob@contoso.com", StringComparison.Ordinal);
        return parts[0] + "." + Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload) + "." + parts[2];
    }
}
