using System.Text;
using CasGateway.Location;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using MimeKit;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: IMAP through the front door to the user's own Dovecot, with MailKit as the client.</summary>
public sealed class ImapProxyTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private MailDeployment _mail = null!;

    public override async Task InitializeAsync() => _mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls);

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com", "LOGIN")]
    [InlineData("alice@contoso.com", "mbx1.contoso.com", "PLAIN")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com", "LOGIN")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com", "PLAIN")]
    public async Task User_logs_in_and_lands_on_own_mailbox_server(string user, string server, string mechanism)
    {
        var loginsBefore = Dovecot.Server(server).Logins("imap", user);
        var wall = System.Diagnostics.Stopwatch.StartNew();
        using (var client = await _mail.ConnectImapAsync())
        {
            Assert.Contains("PLAIN", client.AuthenticationMechanisms);
            if (mechanism == "PLAIN")
            {
                await client.AuthenticateAsync(new SaslMechanismPlain(user, TestDirectory.PasswordOf(user)));
            }
            else
            {
                // Without SASL mechanisms MailKit falls back to the LOGIN command.
                client.AuthenticationMechanisms.Clear();
                await client.AuthenticateAsync(user, TestDirectory.PasswordOf(user));
            }
            Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Idle), "post-login capabilities come from Dovecot");
            var inbox = client.Inbox;
            await inbox.OpenAsync(FolderAccess.ReadOnly);
            var marker = await inbox.SearchAsync(SearchQuery.SubjectContains("Welcome to"));
            var subjects = new List<string>();
            foreach (var uid in marker)
            {
                subjects.Add((await inbox.GetMessageAsync(uid)).Subject ?? "");
            }
            Assert.Equal([Dovecot.Server(server).MarkerSubject], subjects);
            await client.DisconnectAsync(quit: true);
        }

        Assert.Equal(loginsBefore + 1, Dovecot.Server(server).Logins("imap", user));
        var session = Assert.Single(await _mail.SessionEventsAsync());
        var elapsed = wall.ElapsedMilliseconds;
        Assert.Equal("Imap", session.GetProperty("Protocol").GetString());
        Assert.Equal(user, session.GetProperty("User").GetString());
        Assert.Equal(mechanism, session.GetProperty("Method").GetString());
        Assert.Equal(server, session.GetProperty("BackendServer").GetString());
        Assert.Equal("127.0.0.1", session.GetProperty("ClientIp").GetString());
        Assert.Equal("Proxied", session.GetProperty("Outcome").GetString());
        Assert.True(session.GetProperty("BytesFromClient").GetInt64() > 0);
        Assert.True(session.GetProperty("BytesToClient").GetInt64() > 0);
        // The session spans a TLS handshake, two logins and a fetch: it takes time, and no more than the client saw.
        Assert.InRange(session.GetProperty("DurationMs").GetInt64(), 1, elapsed);
        var log = _mail.ReadGatewayLogText();
        Assert.DoesNotContain(TestDirectory.PasswordOf(user), log, StringComparison.Ordinal);
        Assert.DoesNotContain(Dovecot.MasterPassword, log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Appended_message_is_fetched_back_byte_for_byte()
    {
        var raw = TestMessages.Create("alice@contoso.com", "Quarterly figures " + Guid.NewGuid(), attachmentBytes: 300_000);
        using var client = await _mail.LoginImapAsync("alice@contoso.com");
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite);
        var uid = await inbox.AppendAsync(new AppendRequest(MimeMessage.Load(new MemoryStream(raw))));
        Assert.NotNull(uid);

        await using var fetched = new MemoryStream();
        await using (var stream = await inbox.GetStreamAsync(uid.Value, ""))
        {
            await stream.CopyToAsync(fetched);
        }
        Assert.Equal(Encoding.ASCII.GetString(raw), Encoding.ASCII.GetString(fetched.ToArray()));
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Idle_session_hears_of_mail_appended_by_another_session()
    {
        using var idler = await _mail.LoginImapAsync("bob@contoso.com");
        var inbox = idler.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly);
        var before = inbox.Count;
        var arrived = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        inbox.CountChanged += (_, _) => arrived.TrySetResult(inbox.Count);
        using var done = new CancellationTokenSource();
        var idle = idler.IdleAsync(done.Token);

        using (var sender = await _mail.LoginImapAsync("bob@contoso.com"))
        {
            await sender.Inbox.AppendAsync(new AppendRequest(MimeMessage.Load(new MemoryStream(
                TestMessages.Create("bob@contoso.com", "New mail while idling")))));
            await sender.DisconnectAsync(quit: true);
        }

        var count = await arrived.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await done.CancelAsync();
        await idle;
        Assert.Equal(before + 1, count);
        await idler.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Wrong_password_gets_NO_and_no_backend_connection()
    {
        using var client = await _mail.ConnectImapAsync();
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice@contoso.com", "wrong"));
        Assert.Contains("Authentication failed", error.Message, StringComparison.Ordinal);
        // The connection stays usable for another attempt.
        await client.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        Assert.Equal(1, _mail.BackendConnections);
        await client.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Unknown_user_gets_NO_and_no_backend_connection()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", await raw.ReadLineAsync(), StringComparison.Ordinal);
        await raw.SendAsync("a1 LOGIN \"nobody@contoso.com\" \"pw-nobody\"\r\n");
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] Authentication failed.", await raw.ReadLineAsync());
        await raw.SendAsync("a2 LOGOUT\r\n");
        Assert.Equal(["* BYE Logging out.", "a2 OK Logout completed."], await raw.ReadUntilClosedAsync());
        Assert.Equal(0, _mail.BackendConnections);
        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal("AuthenticationFailed", session.GetProperty("Outcome").GetString());
        Assert.Equal("nobody@contoso.com", session.GetProperty("User").GetString());
    }

    [Fact]
    public async Task Pre_login_commands_are_answered_by_the_gateway()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        await raw.SendAsync("a1 CAPABILITY\r\na2 NOOP\r\na3 ID (\"name\" \"test\")\r\na4 SELECT INBOX\r\n");
        Assert.Equal("* CAPABILITY IMAP4rev1 SASL-IR ID AUTH=PLAIN", await raw.ReadLineAsync());
        Assert.StartsWith("a1 OK", await raw.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Equal("a2 OK NOOP completed.", await raw.ReadLineAsync());
        Assert.Equal("* ID (\"name\" \"CasGateway\")", await raw.ReadLineAsync());
        Assert.Equal("a3 OK ID completed.", await raw.ReadLineAsync());
        Assert.Equal("a4 BAD Command not permitted before login.", await raw.ReadLineAsync());
        Assert.Equal(0, _mail.BackendConnections);
    }

    [Fact]
    public async Task Authenticate_without_initial_response_uses_a_continuation_and_can_be_cancelled()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        await raw.SendAsync("a1 AUTHENTICATE PLAIN\r\n");
        Assert.Equal("+ ", await raw.ReadLineAsync());
        await raw.SendAsync("*\r\n");
        Assert.Equal("a1 BAD Authentication cancelled.", await raw.ReadLineAsync());
        await raw.SendAsync("a2 AUTHENTICATE PLAIN\r\n");
        Assert.Equal("+ ", await raw.ReadLineAsync());
        await raw.SendAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0bob@contoso.com\0pw-bob")) + "\r\n");
        Assert.StartsWith("a2 OK [CAPABILITY IMAP4rev1", await raw.ReadLineAsync(), StringComparison.Ordinal);
        await raw.SendAsync("a3 LOGOUT\r\n");
        Assert.Contains("* BYE Logging out", await raw.ReadUntilClosedAsync());
        Assert.Equal(1, _mail.BackendConnections);
    }

    [Fact]
    public async Task Waiting_client_is_told_when_the_gateway_shuts_down()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        var stopping = _mail.Gateway.DisposeAsync().AsTask();
        Assert.Equal(["* BYE Server shutting down."], await raw.ReadUntilClosedAsync());
        await stopping;
    }

    [Fact]
    public async Task Login_with_literals_works()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        var user = "carol@contoso.com";
        var password = TestDirectory.PasswordOf(user);
        await raw.SendAsync($"a1 LOGIN {{{user.Length}}}\r\n");
        Assert.StartsWith("+ ", await raw.ReadLineAsync(), StringComparison.Ordinal);
        await raw.SendAsync($"{user} {{{password.Length}+}}\r\n{password}\r\n");
        Assert.Matches("^a1 OK \\[CAPABILITY IMAP4rev1 .*IDLE.*\\] Logged in", await raw.ReadLineAsync());
        await raw.SendAsync("a2 LOGOUT\r\n");
        var bye = await raw.ReadUntilClosedAsync();
        Assert.Contains("* BYE Logging out", bye);
        Assert.StartsWith("a2 OK Logout completed", bye[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mailbox_server_without_an_imap_endpoint_gets_a_clear_NO()
    {
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _mail.Gateway.GetRequiredService<IMailboxLocator>().Changed += () => reloaded.TrySetResult();
        _mail.Topology.Directory.MailEndpoints["mbx2.contoso.com"] = (null, null);
        _mail.Topology.Directory.Save();
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var client = await _mail.ConnectImapAsync();
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("bob@contoso.com", TestDirectory.PasswordOf("bob@contoso.com")));
        Assert.Equal("This protocol is not available for this mailbox.", error.Message);
        Assert.Equal(0, _mail.BackendConnections);
        await client.DisconnectAsync(quit: true);
        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal("NoEndpoint", session.GetProperty("Outcome").GetString());
        Assert.Equal("Warning", session.GetProperty("@l").GetString());
        Assert.Contains("mbx2.contoso.com", session.GetProperty("Reason").GetString(), StringComparison.Ordinal);
    }
}
