using System.Text;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit;
using MailKit.Net.Pop3;
using MailKit.Security;
using MimeKit;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: POP3 through the front door to the user's own Dovecot, with MailKit as the client.</summary>
public sealed class PopProxyTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private MailDeployment _mail = null!;

    public override async Task InitializeAsync() => _mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls);

    [Theory]
    [InlineData("USER")]
    [InlineData("PLAIN")]
    public async Task Stat_retr_and_dele_work_on_the_users_mailbox(string mechanism)
    {
        const string user = "carol@contoso.com";
        var subject = "For POP " + Guid.NewGuid();
        var raw = TestMessages.Create(user, subject, attachmentBytes: 50_000);
        using (var imap = await _mail.LoginImapAsync(user))
        {
            await imap.Inbox.AppendAsync(new AppendRequest(MimeMessage.Load(new MemoryStream(raw))));
            await imap.DisconnectAsync(quit: true);
        }

        int count;
        using (var pop = await LoginPopAsync(user, mechanism))
        {
            count = await pop.GetMessageCountAsync();
            Assert.True(count >= 2, $"STAT says {count}: the marker and the new message at least");
            var index = -1;
            for (var i = 0; i < count && index < 0; i++)
            {
                index = (await pop.GetMessageHeadersAsync(i))[HeaderId.Subject] == subject ? i : -1;
            }
            Assert.True(index >= 0, "the appended message is listed");
            byte[] fetched;
            await using (var stream = await pop.GetStreamAsync(index))
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                fetched = copy.ToArray();
            }
            Assert.Equal(Encoding.ASCII.GetString(raw), Encoding.ASCII.GetString(fetched));
            await pop.DeleteMessageAsync(index);
            await pop.DisconnectAsync(quit: true);
        }

        using (var pop = await LoginPopAsync(user, mechanism))
        {
            Assert.Equal(count - 1, await pop.GetMessageCountAsync());
            await pop.DisconnectAsync(quit: true);
        }
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    public async Task User_lands_on_own_mailbox_server(string user, string server)
    {
        var loginsBefore = Dovecot.Server(server).Logins("pop3", user);
        using (var pop = await LoginPopAsync(user, "PLAIN"))
        {
            Assert.True(pop.Capabilities.HasFlag(Pop3Capabilities.UIDL), "post-login capabilities come from Dovecot");
            var subjects = new List<string>();
            var count = await pop.GetMessageCountAsync();
            for (var i = 0; i < count; i++)
            {
                subjects.Add((await pop.GetMessageAsync(i)).Subject ?? "");
            }
            Assert.Contains(Dovecot.Server(server).MarkerSubject, subjects);
            Assert.DoesNotContain(Dovecot.Servers.Single(s => s.Name != server).MarkerSubject, subjects);
            await pop.DisconnectAsync(quit: true);
        }
        Assert.Equal(loginsBefore + 1, Dovecot.Server(server).Logins("pop3", user));
        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal("Pop3", session.GetProperty("Protocol").GetString());
        Assert.Equal(server, session.GetProperty("BackendServer").GetString());
        Assert.Equal("Proxied", session.GetProperty("Outcome").GetString());
    }

    [Theory]
    [InlineData("USER")]
    [InlineData("PLAIN")]
    public async Task Wrong_password_gets_ERR_and_no_backend_connection(string mechanism)
    {
        using var pop = await _mail.ConnectPopAsync();
        if (mechanism == "USER")
        {
            pop.AuthenticationMechanisms.Clear();
        }
        await Assert.ThrowsAsync<AuthenticationException>(() => pop.AuthenticateAsync("bob@contoso.com", "wrong"));
        Assert.Equal(0, _mail.BackendConnections);
        Assert.Equal("AuthenticationFailed", Assert.Single(await SessionEventsAfterQuitAsync(pop)).GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task Authorization_state_commands_are_answered_by_the_gateway()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Pop3);
        Assert.Equal("+OK CasGateway POP3 proxy ready.", await raw.ReadLineAsync());
        await raw.SendAsync("CAPA\r\nNOOP\r\nSTAT\r\nPASS secret\r\nAUTH\r\nQUIT\r\n");
        Assert.Equal("+OK Capability list follows", await raw.ReadLineAsync());
        var capabilities = new List<string>();
        while (await raw.ReadLineAsync() is { } line && line != ".")
        {
            capabilities.Add(line);
        }
        Assert.Equal(["CAPA", "USER", "SASL PLAIN", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "IMPLEMENTATION CasGateway"], capabilities);
        Assert.Equal("+OK", await raw.ReadLineAsync());
        Assert.Equal("-ERR Unknown command or not logged in.", await raw.ReadLineAsync());
        Assert.Equal("-ERR Give USER name, then PASS.", await raw.ReadLineAsync());
        Assert.Equal("+OK", await raw.ReadLineAsync());
        Assert.Equal("PLAIN", await raw.ReadLineAsync());
        Assert.Equal(".", await raw.ReadLineAsync());
        Assert.Equal(["+OK Logging out."], await raw.ReadUntilClosedAsync());
        Assert.Equal(0, _mail.BackendConnections);
    }

    [Fact]
    public async Task Auth_without_initial_response_uses_a_continuation()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Pop3);
        await raw.ReadLineAsync();
        await raw.SendAsync("AUTH PLAIN\r\n");
        Assert.Equal("+ ", await raw.ReadLineAsync());
        await raw.SendAsync("*\r\n");
        Assert.Equal("-ERR Authentication cancelled.", await raw.ReadLineAsync());
        await raw.SendAsync("AUTH PLAIN\r\n");
        Assert.Equal("+ ", await raw.ReadLineAsync());
        await raw.SendAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@contoso.com\0pw-alice")) + "\r\nSTAT\r\nQUIT\r\n");
        Assert.Equal("+OK Logged in.", await raw.ReadLineAsync());
        Assert.StartsWith("+OK ", await raw.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Equal(["+OK Logging out."], await raw.ReadUntilClosedAsync());
        Assert.Equal(1, _mail.BackendConnections);
    }

    private async Task<Pop3Client> LoginPopAsync(string user, string mechanism)
    {
        var pop = await _mail.ConnectPopAsync();
        if (mechanism == "USER")
        {
            pop.AuthenticationMechanisms.Clear();
        }
        await pop.AuthenticateAsync(user, TestDirectory.PasswordOf(user));
        return pop;
    }

    private async Task<IReadOnlyList<System.Text.Json.JsonElement>> SessionEventsAfterQuitAsync(Pop3Client pop)
    {
        await pop.DisconnectAsync(quit: true);
        return await _mail.SessionEventsAsync();
    }
}
