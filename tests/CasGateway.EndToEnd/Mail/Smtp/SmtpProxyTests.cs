using System.Net;
using System.Text;
using CasGateway.TestSupport;
using MailKit;
using MailKit.Search;
using MailKit.Security;
using MimeKit;
using Xunit.Abstractions;
using static CasGateway.EndToEnd.Mail.Smtp.SmtpTestKit;

namespace CasGateway.EndToEnd.Mail.Smtp;

/// <summary>
/// Issue 17: SMTP submission and inbound through the gateway, with Postfix as each mailbox server's transport
/// (delivering over LMTP into the Dovecot the IMAP tests use) and MailKit, swaks and hand-driven connections as clients.
/// </summary>
public sealed class SmtpProxyTests(SmtpPeers peers, ITestOutputHelper output) : IClassFixture<SmtpPeers>, IAsyncLifetime
{
    private MailDeployment _mail = null!;

    public async Task InitializeAsync() => _mail = await StartAsync(peers, new Dictionary<string, string?>
    {
        ["Gateway:Mail:Smtp:AcceptedDomains:0"] = "contoso.com",
    });

    public async Task DisposeAsync()
    {
        _mail.WriteLogs(output);
        foreach (var server in new[] { "mbx1.contoso.com", "mbx2.contoso.com" })
        {
            output.WriteLine($"--- Postfix {server} maillog ---");
            output.WriteLine(peers.Postfix(server).ReadMaillog());
        }
        await _mail.DisposeAsync();
    }

    [Fact]
    public async Task Alice_submits_to_bob_who_reads_it_byte_for_byte_through_the_gateway_and_postfix_sees_alices_address_and_login()
    {
        var messageId = $"{Guid.NewGuid():N}@client.fabrikam.test";
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice", "alice@contoso.com"));
        message.To.Add(new MailboxAddress("Bob", "bob@contoso.com"));
        message.Subject = "Lunch?";
        message.MessageId = messageId;
        message.Body = new TextPart("plain") { Text = "Hi Bob,\r\n.a line starting with a dot\r\n..and two\r\nGrüße, Alice\r\n" };

        using (var smtp = await ConnectAsync(_mail, implicitTls: false, from: IPAddress.Parse("127.0.0.5")))
        {
            Assert.Contains("PLAIN", smtp.AuthenticationMechanisms);
            Assert.True(smtp.Capabilities.HasFlag(MailKit.Net.Smtp.SmtpCapabilities.Pipelining));
            Assert.True(smtp.Capabilities.HasFlag(MailKit.Net.Smtp.SmtpCapabilities.EightBitMime));
            Assert.True(smtp.Capabilities.HasFlag(MailKit.Net.Smtp.SmtpCapabilities.EnhancedStatusCodes));
            Assert.True(smtp.Capabilities.HasFlag(MailKit.Net.Smtp.SmtpCapabilities.UTF8));
            await smtp.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
            var answer = await smtp.SendAsync(message);
            Assert.Contains("queued as", answer, StringComparison.Ordinal);
            await smtp.DisconnectAsync(quit: true);
        }
        using var sent = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, sent);

        // Alice's session went to her own server (mbx1), which saw her address and login through XCLIENT.
        await WaitForLogAsync(() => peers.Postfix("mbx1.contoso.com").ReadMaillog(),
            "client=unknown[127.0.0.5], sasl_method=XCLIENT, sasl_username=alice@contoso.com", "Postfix mbx1");
        var session = Assert.Single(await SmtpSessionsAsync(_mail));
        Assert.Equal("alice@contoso.com", session.GetProperty("User").GetString());
        Assert.Equal("PLAIN", session.GetProperty("Method").GetString());
        Assert.Equal("mbx1.contoso.com", session.GetProperty("BackendServer").GetString());
        Assert.Equal(1, session.GetProperty("Recipients").GetInt32());
        Assert.True(session.GetProperty("Tls").GetBoolean());
        Assert.Equal("Proxied", session.GetProperty("Outcome").GetString());
        Assert.DoesNotContain(TestDirectory.PasswordOf("alice@contoso.com"), _mail.ReadGatewayLogText(), StringComparison.Ordinal);
        Assert.DoesNotContain("Lunch?", _mail.ReadGatewayLogText(), StringComparison.Ordinal);

        // Bob reads it through the gateway's IMAP: what alice sent, byte for byte, after the headers the servers added.
        using var imap = await _mail.LoginImapAsync("bob@contoso.com");
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        IList<UniqueId> found = [];
        await Health.HealthTestKit.EventuallyAsync(async () =>
        {
            await imap.NoOpAsync();
            found = await imap.Inbox.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId));
            return found.Count == 1;
        }, TimeSpan.FromSeconds(20), "the message reached bob's INBOX on mbx2");
        using var stored = new MemoryStream();
        await (await imap.Inbox.GetStreamAsync(found[0])).CopyToAsync(stored);
        var storedText = Encoding.UTF8.GetString(stored.ToArray());
        Assert.EndsWith(Encoding.UTF8.GetString(sent.ToArray()), storedText, StringComparison.Ordinal);
        Assert.Contains("with ESMTPA", storedText, StringComparison.Ordinal);
        await imap.DisconnectAsync(quit: true);
    }

    [Fact]
    public async Task Swaks_submits_with_auth_login_over_implicit_tls()
    {
        var messageId = $"<{Guid.NewGuid():N}@swaks.test>";
        var endPoint = _mail.EndPoint(CasGateway.Mail.Core.MailProtocol.Smtp, implicitTls: true);
        var (exit, transcript) = await SwaksAsync("--server", $"127.0.0.1:{endPoint.Port}", "--tlsc", "--auth", "LOGIN",
            "--auth-user", "carol@contoso.com", "--auth-password", TestDirectory.PasswordOf("carol@contoso.com"),
            "--from", "carol@contoso.com", "--to", "alice@contoso.com", "--header", "Message-Id: " + messageId);
        output.WriteLine(transcript);
        Assert.Equal(0, exit);
        Assert.Contains("235 2.7.0 Authentication successful", transcript, StringComparison.Ordinal);
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), $"msgid={messageId}: saved mail to INBOX", "Dovecot mbx1");
        Assert.Equal("LOGIN", Assert.Single(await SmtpSessionsAsync(_mail)).GetProperty("Method").GetString());
    }

    [Fact]
    public async Task Wrong_password_is_refused_without_contacting_a_mailbox_server()
    {
        using var smtp = await ConnectAsync(_mail, implicitTls: true);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync("alice@contoso.com", "wrong"));
        Assert.Contains("authentication failed", refused.Message, StringComparison.OrdinalIgnoreCase);
        await smtp.DisconnectAsync(quit: true);
        Assert.Equal(0, _mail.SmtpBackendConnections);
        var session = Assert.Single(await SmtpSessionsAsync(_mail));
        Assert.Equal("AuthenticationFailed", session.GetProperty("Outcome").GetString());
        Assert.DoesNotContain("\"wrong\"", _mail.ReadGatewayLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mail_before_auth_gets_530_and_no_backend_session()
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: true);
        await CommandAsync(raw, "EHLO client.fabrikam.test");
        Assert.Equal("530 5.7.0 Authentication required", Assert.Single(await CommandAsync(raw, "MAIL FROM:<alice@contoso.com>")));
        Assert.StartsWith("221 ", Assert.Single(await CommandAsync(raw, "QUIT")));
        Assert.Equal(0, _mail.SmtpBackendConnections);
    }

    [Fact]
    public async Task Auth_before_tls_is_neither_offered_nor_accepted()
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: false);
        var ehlo = await CommandAsync(raw, "EHLO client.fabrikam.test");
        Assert.Contains(ehlo, l => l[4..] == "STARTTLS");
        Assert.DoesNotContain(ehlo, l => l.Contains("AUTH", StringComparison.Ordinal));
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@contoso.com\0" + TestDirectory.PasswordOf("alice@contoso.com")));
        Assert.Equal("530 5.7.0 Must issue a STARTTLS command first", Assert.Single(await CommandAsync(raw, "AUTH PLAIN " + plain)));
        Assert.Equal(0, _mail.SmtpBackendConnections);

        // After STARTTLS the client starts over with EHLO, and now AUTH is offered.
        Assert.StartsWith("220 2.0.0", Assert.Single(await CommandAsync(raw, "STARTTLS")));
        await raw.UpgradeToTlsAsync(_mail.Gateway.ServerCertificate);
        await AuthenticateAsync(raw, "alice@contoso.com");
    }

    [Fact]
    public async Task Plain_text_pipelined_after_starttls_is_refused_and_the_connection_closed()
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: false);
        await CommandAsync(raw, "EHLO client.fabrikam.test");
        await raw.SendAsync("STARTTLS\r\nMAIL FROM:<attacker@fabrikam.test>\r\n");
        var lines = await raw.ReadUntilClosedAsync();
        Assert.StartsWith("554 5.5.1", Assert.Single(lines));
        Assert.Equal("DataAfterStartTls", Assert.Single(await SmtpSessionsAsync(_mail)).GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task A_message_the_mailbox_server_refuses_at_the_end_of_data_is_refused_to_the_client()
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: true);
        await AuthenticateAsync(raw, "bob@contoso.com");
        // A SIZE over the gateway's own limit is refused before anything reaches the mailbox server.
        Assert.StartsWith("552 5.3.4", Assert.Single(await CommandAsync(raw, "MAIL FROM:<bob@contoso.com> SIZE=999999999999")));
        // Without SIZE, bob's server (mbx2, 1 MB limit) only finds out at the end of the data, and says so.
        Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "MAIL FROM:<bob@contoso.com>")));
        Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "RCPT TO:<alice@contoso.com>")));
        Assert.StartsWith("354", Assert.Single(await CommandAsync(raw, "DATA")));
        var line = Encoding.ASCII.GetBytes(new string('x', 998) + "\r\n");
        await raw.SendAsync("Subject: too big for mbx2\r\n\r\n");
        for (var sent = 0L; sent < SmtpPeers.Mbx2SizeLimit * 3 / 2; sent += line.Length)
        {
            await raw.SendAsync(line);
        }
        // Postfix's own words: the gateway passed the refusal on and never said 250 itself.
        Assert.Equal("552 5.3.4 Error: message file too big", Assert.Single(await CommandAsync(raw, ".")));
        Assert.StartsWith("221", Assert.Single(await CommandAsync(raw, "QUIT")));
        Assert.Equal("Proxied", Assert.Single(await SmtpSessionsAsync(_mail)).GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task Inbound_mail_for_an_unknown_recipient_gets_550_from_the_directory_without_a_mailbox_server()
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: false, inbound: true);
        var ehlo = await CommandAsync(raw, "EHLO mta.fabrikam.test");
        Assert.Contains(ehlo, l => l[4..] == "STARTTLS");
        Assert.DoesNotContain(ehlo, l => l.Contains("AUTH", StringComparison.Ordinal));
        Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "MAIL FROM:<someone@fabrikam.test>")));
        Assert.Equal("550 5.1.1 <nobody@contoso.com>: Recipient address rejected: User unknown",
            Assert.Single(await CommandAsync(raw, "RCPT TO:<nobody@contoso.com>")));
        Assert.StartsWith("550 5.7.54", Assert.Single(await CommandAsync(raw, "RCPT TO:<victim@example.org>")));
        Assert.StartsWith("554 5.5.1", Assert.Single(await CommandAsync(raw, "DATA")));
        Assert.StartsWith("221", Assert.Single(await CommandAsync(raw, "QUIT")));

        Assert.Equal(0, _mail.SmtpBackendConnections);
        var session = Assert.Single(await SmtpSessionsAsync(_mail));
        Assert.Equal("UnknownRecipient", session.GetProperty("Outcome").GetString());
        Assert.Equal(0, session.GetProperty("Recipients").GetInt32());
    }

    [Fact]
    public async Task Inbound_mail_for_bob_goes_to_bobs_server_with_the_senders_address()
    {
        var messageId = $"<{Guid.NewGuid():N}@mta.fabrikam.test>";
        var endPoint = _mail.EndPoint(CasGateway.Mail.Core.MailProtocol.Smtp, implicitTls: false, inbound: true);
        var (exit, transcript) = await SwaksAsync("--server", $"127.0.0.1:{endPoint.Port}", "--tls", "--local-interface", "127.0.0.6",
            "--ehlo", "mta.fabrikam.test", "--from", "someone@fabrikam.test", "--to", "bob@contoso.com", "--header", "Message-Id: " + messageId);
        output.WriteLine(transcript);
        Assert.Equal(0, exit);
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx2.contoso.com").ReadLog(), $"msgid={messageId}: saved mail to INBOX", "Dovecot mbx2");
        await WaitForLogAsync(() => peers.Postfix("mbx2.contoso.com").ReadMaillog(), "client=unknown[127.0.0.6]", "Postfix mbx2");
        Assert.Equal(1, _mail.SmtpBackendConnections);
        var session = Assert.Single(await SmtpSessionsAsync(_mail));
        Assert.Equal("mbx2.contoso.com", session.GetProperty("BackendServer").GetString());
        Assert.Equal("bob@contoso.com", session.GetProperty("Mailbox").GetString());
        Assert.Equal(1, session.GetProperty("Recipients").GetInt32());
        Assert.Equal("Proxied", session.GetProperty("Outcome").GetString());
    }
}
