using CasGateway.TestSupport;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: SASL XOAUTH2 and OAUTHBEARER with bearer tokens validated like the HTTP path (local OpenID issuer).</summary>
public sealed class MailBearerTests(DovecotPair dovecot, ITestOutputHelper output) : IClassFixture<DovecotPair>, IAsyncLifetime
{
    private OidcServer _issuer = null!;
    private MailDeployment _mail = null!;

    public async Task InitializeAsync()
    {
        _issuer = await OidcServer.StartAsync();
        _mail = await MailDeployment.StartAsync(dovecot, overrides: _issuer.GatewaySettings());
    }

    public async Task DisposeAsync()
    {
        _mail?.WriteLogs(output);
        await Cleanup.DisposeAllAsync(_mail, _issuer);
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com", "XOAUTH2")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com", "OAUTHBEARER")]
    public async Task Imap_token_login_reaches_the_users_mailbox(string user, string server, string mechanism)
    {
        var token = _issuer.IssueToken(user);
        using var client = await _mail.ConnectImapAsync();
        Assert.Contains(mechanism, client.AuthenticationMechanisms);
        await client.AuthenticateAsync(Mechanism(mechanism, user, token));
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.NotEmpty(await client.Inbox.SearchAsync(SearchQuery.SubjectContains(dovecot.Server(server).MarkerSubject)));
        await client.DisconnectAsync(quit: true);

        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal(mechanism, session.GetProperty("Method").GetString());
        Assert.Equal(server, session.GetProperty("BackendServer").GetString());
        Assert.DoesNotContain(token, _mail.ReadGatewayLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pop_token_login_reaches_the_users_mailbox()
    {
        using var client = await _mail.ConnectPopAsync();
        await client.AuthenticateAsync(new SaslMechanismOAuth2("carol@contoso.com", _issuer.IssueToken("carol@contoso.com")));
        Assert.True(await client.GetMessageCountAsync() >= 1);
        await client.DisconnectAsync(quit: true);
        Assert.Equal("mbx1.contoso.com", Assert.Single(await _mail.SessionEventsAsync()).GetProperty("BackendServer").GetString());
    }

    public static TheoryData<string, Func<OidcServer, string>, string> RefusedTokens => new()
    {
        { "expired", issuer => issuer.IssueToken("alice@contoso.com", expires: DateTime.UtcNow.AddMinutes(-10)), "alice@contoso.com" },
        { "wrong audience", issuer => issuer.IssueToken("alice@contoso.com", audience: Guid.NewGuid().ToString()), "alice@contoso.com" },
        { "bad signature", issuer => issuer.IssueToken("alice@contoso.com", signingKey: OidcServer.ForeignKey()), "alice@contoso.com" },
        { "foreign issuer", issuer => issuer.IssueToken("alice@contoso.com", issuer: $"https://login.example.net/{Guid.NewGuid()}/v2.0"), "alice@contoso.com" },
        { "someone else's token", issuer => issuer.IssueToken("bob@contoso.com"), "alice@contoso.com" },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task Refused_token_gets_NO_and_no_backend_connection(string why, Func<OidcServer, string> token, string user)
    {
        using var client = await _mail.ConnectImapAsync();
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(new SaslMechanismOAuth2(user, token(_issuer))));
        Assert.True(_mail.BackendConnections == 0, $"{why}: the gateway connected to a mailbox server");
        await client.DisconnectAsync(quit: true);
        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal("AuthenticationFailed", session.GetProperty("Outcome").GetString());
    }

    private static SaslMechanism Mechanism(string name, string user, string token)
        => name == "XOAUTH2" ? new SaslMechanismOAuth2(user, token) : new SaslMechanismOAuthBearer(user, token);
}
