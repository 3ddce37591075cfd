using System.Net;
using System.Net.Http.Headers;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// Issue 15 item 6: a bearer token's mailbox is the directory mailbox whose objectId is the token's oid, in the one
/// configured tenant; preferred_username decides nothing unless the fallback is switched on.
/// </summary>
public sealed class BearerMailboxTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private OidcServer _issuer = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _issuer = await OidcServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _issuer.DisposeAsync();
        await _topology.DisposeAsync();
    }

    [Fact]
    public async Task The_object_id_decides_the_mailbox_not_the_user_name()
    {
        await using var gateway = await TestGateway.StartAsync(_topology, _issuer.GatewaySettings());
        // A token whose user name says alice but whose object id is bob's is bob's.
        var token = _issuer.IssueToken("alice@contoso.com", objectId: TestDirectory.ObjectIdOf("bob@contoso.com"));
        using var response = await SendAsync(gateway, token);
        var answer = await response.ReadAnswerAsync();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal("bob@contoso.com", answer.Mailbox);
        Assert.False(answer.IdentityActsOnOtherMailbox);
    }

    [Fact]
    public async Task An_unknown_object_id_gets_no_mailbox_unless_the_user_name_fallback_is_on()
    {
        var token = _issuer.IssueToken("alice@contoso.com", objectId: Guid.NewGuid());
        var before = _topology.Backend("mbx1.contoso.com").Requests;
        await using (var strict = await TestGateway.StartAsync(_topology, _issuer.GatewaySettings()))
        {
            using var refused = await SendAsync(strict, token);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
        }
        var settings = _issuer.GatewaySettings();
        settings["Gateway:Authentication:BearerUsernameFallback"] = "true";
        await using var lenient = await TestGateway.StartAsync(_topology, settings);
        using var response = await SendAsync(lenient, token);
        Assert.Equal("alice@contoso.com", (await response.ReadAnswerAsync()).Mailbox);
    }

    [Fact]
    public async Task A_token_naming_another_tenant_reaches_no_mailbox()
    {
        await using var gateway = await TestGateway.StartAsync(_topology, _issuer.GatewaySettings());
        var before = _topology.Backend("mbx1.contoso.com").Requests;
        using var response = await SendAsync(gateway, _issuer.IssueToken("alice@contoso.com", tenantId: Guid.NewGuid()));
        Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"got {(int)response.StatusCode}");
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
    }

    private static Task<HttpResponseMessage> SendAsync(TestGateway gateway, string token)
    {
        var client = gateway.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }
}
