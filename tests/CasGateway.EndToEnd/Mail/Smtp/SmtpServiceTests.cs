using System.Net;
using System.Text;
using CasGateway.EndToEnd.Health;
using CasGateway.TestSupport;
using MailKit.Security;
using MimeKit;
using Xunit.Abstractions;
using static CasGateway.EndToEnd.Mail.Smtp.SmtpTestKit;

namespace CasGateway.EndToEnd.Mail.Smtp;

/// <summary>Issue 17: SMTP when a mailbox server is down, while the component drains, and with bearer tokens; one deployment per test.</summary>
public sealed class SmtpServiceTests(SmtpPeers peers, ITestOutputHelper output) : IClassFixture<SmtpPeers>, IAsyncLifetime
{
    private readonly List<MailDeployment> _deployments = [];
    private OidcServer? _issuer;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var deployment in _deployments)
        {
            deployment.WriteLogs(output);
            await deployment.DisposeAsync();
        }
        if (_issuer is not null)
        {
            await _issuer.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_mailbox_server_whose_smtp_is_down_gets_4xx_answers_and_the_session_goes_on_for_other_recipients()
    {
        var mail = await StartDeploymentAsync(smtpPorts: new Dictionary<string, int?>
        {
            ["mbx1.contoso.com"] = peers.Postfix("mbx1.contoso.com").SmtpPort,
            ["mbx2.contoso.com"] = null,
        });

        // Submission: bob's own server is down, so his login cannot be honoured now; he may try again.
        await using (var raw = await ConnectRawAsync(mail, implicitTls: true))
        {
            await CommandAsync(raw, "EHLO client.fabrikam.test");
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0bob@contoso.com\0" + TestDirectory.PasswordOf("bob@contoso.com")));
            Assert.Equal("454 4.7.0 The mailbox server is unavailable; try again later.", Assert.Single(await CommandAsync(raw, "AUTH PLAIN " + plain)));
            Assert.Equal("530 5.7.0 Authentication required", Assert.Single(await CommandAsync(raw, "MAIL FROM:<bob@contoso.com>")));
            await CommandAsync(raw, "QUIT");
        }
        var session = Assert.Single(await SmtpSessionsAsync(mail));
        Assert.Equal("BackendUnavailable", session.GetProperty("Outcome").GetString());

        // Inbound: bob's recipient is deferred (4xx: the sender keeps it and retries), alice's goes on to her server.
        var messageId = $"<{Guid.NewGuid():N}@mta.fabrikam.test>";
        await using (var raw = await ConnectRawAsync(mail, implicitTls: false, inbound: true))
        {
            await CommandAsync(raw, "EHLO mta.fabrikam.test");
            Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "MAIL FROM:<someone@fabrikam.test>")));
            Assert.Equal("451 4.4.1 Mailbox server unavailable, try again later", Assert.Single(await CommandAsync(raw, "RCPT TO:<bob@contoso.com>")));
            Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "RCPT TO:<alice@contoso.com>")));
            Assert.StartsWith("354", Assert.Single(await CommandAsync(raw, "DATA")));
            await raw.SendAsync($"Message-Id: {messageId}\r\nSubject: for alice and bob\r\n\r\nHello.\r\n");
            Assert.StartsWith("250 2.0.0 Ok: queued as", Assert.Single(await CommandAsync(raw, ".")));
            await CommandAsync(raw, "QUIT");
        }
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), $"msgid={messageId}: saved mail to INBOX", "Dovecot mbx1");
        Assert.Equal("mbx1.contoso.com", (await SmtpSessionsAsync(mail, 2))[1].GetProperty("BackendServer").GetString());
    }

    [Fact]
    public async Task A_mailbox_server_lost_in_the_middle_of_a_message_leaves_it_unacknowledged()
    {
        var link = TcpForwarder.To(peers.Postfix("mbx1.contoso.com").SmtpPort);
        var cut = false;
        try
        {
            var mail = await StartDeploymentAsync(smtpPorts: new Dictionary<string, int?>
            {
                ["mbx1.contoso.com"] = int.Parse(link.Endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture),
                ["mbx2.contoso.com"] = peers.Postfix("mbx2.contoso.com").SmtpPort,
            });
            var messageId = $"<{Guid.NewGuid():N}@client.fabrikam.test>";
            await using var raw = await ConnectRawAsync(mail, implicitTls: true);
            await AuthenticateAsync(raw, "alice@contoso.com");
            Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "MAIL FROM:<alice@contoso.com>")));
            Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "RCPT TO:<carol@contoso.com>")));
            Assert.StartsWith("354", Assert.Single(await CommandAsync(raw, "DATA")));
            await raw.SendAsync($"Message-Id: {messageId}\r\nSubject: cut short\r\n\r\nThe first half.\r\n");
            // The 354 came from Postfix through the relay: the cut below falls in the middle of its DATA.
            await link.DisposeAsync();
            cut = true;
            try
            {
                await raw.SendAsync("The second half.\r\n.\r\n");
            }
            catch (IOException)
            {
                // The gateway may already have closed the connection: just as good.
            }
            // The client never hears a 250: the gateway closes instead, and the sender still has the message.
            Assert.DoesNotContain(await raw.ReadUntilClosedAsync(), line => line.StartsWith("250", StringComparison.Ordinal));
            await WaitForLogAsync(() => peers.Postfix("mbx1.contoso.com").ReadMaillog(), "lost connection after DATA", "Postfix mbx1");
            Assert.DoesNotContain($"msgid={messageId}", peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), StringComparison.Ordinal);
        }
        finally
        {
            if (!cut)
            {
                await link.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Draining_smtp_refuses_new_sessions_with_421_and_lets_an_open_one_finish_its_message()
    {
        var settings = HealthTestKit.Settings(grace: TimeSpan.FromSeconds(10));
        var mail = await StartDeploymentAsync(settings);
        using var http = mail.Gateway.CreateClient();
        var messageId = $"<{Guid.NewGuid():N}@client.fabrikam.test>";
        await using var open = await ConnectRawAsync(mail, implicitTls: true);
        await AuthenticateAsync(open, "alice@contoso.com");
        Assert.StartsWith("250", Assert.Single(await CommandAsync(open, "MAIL FROM:<alice@contoso.com>")));

        // Exchange's name for the component works too.
        await http.SetStateAsync(mail.Topology, "FrontendTransport", "Draining");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.ProbeAsync("/smtp/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.ProbeAsync("/imap/healthcheck.htm")).Status);
        foreach (var inbound in new[] { false, true })
        {
            await using var refused = await RawMailConnection.OpenAsync(mail.EndPoint(CasGateway.Mail.Core.MailProtocol.Smtp, false, inbound), null);
            Assert.StartsWith("421 4.3.2 cas.contoso.com Service not available", Assert.Single(await refused.ReadUntilClosedAsync()));
        }

        Assert.StartsWith("250", Assert.Single(await CommandAsync(open, "RCPT TO:<carol@contoso.com>")));
        Assert.StartsWith("354", Assert.Single(await CommandAsync(open, "DATA")));
        await open.SendAsync($"Message-Id: {messageId}\r\nSubject: sent during a drain\r\n\r\nStill delivered.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as", Assert.Single(await CommandAsync(open, ".")));
        Assert.StartsWith("221", Assert.Single(await CommandAsync(open, "QUIT")));
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), $"msgid={messageId}: saved mail to INBOX", "Dovecot mbx1");
        var outcomes = (await SmtpSessionsAsync(mail, 3)).Select(s => s.GetProperty("Outcome").GetString()).Order().ToList();
        Assert.Equal(["OutOfService", "OutOfService", "Proxied"], outcomes);
    }

    [Fact]
    public async Task A_bearer_token_signs_in_with_xoauth2()
    {
        _issuer = await OidcServer.StartAsync();
        var mail = await StartDeploymentAsync(_issuer.GatewaySettings());
        var token = _issuer.IssueToken("alice@contoso.com");
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@contoso.com"));
        message.To.Add(MailboxAddress.Parse("carol@contoso.com"));
        message.Subject = "token";
        message.MessageId = $"{Guid.NewGuid():N}@client.fabrikam.test";
        message.Body = new TextPart("plain") { Text = "Signed in with a token.\r\n" };
        using (var smtp = await ConnectAsync(mail, implicitTls: true))
        {
            Assert.Contains("XOAUTH2", smtp.AuthenticationMechanisms);
            Assert.Contains("OAUTHBEARER", smtp.AuthenticationMechanisms);
            await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(new SaslMechanismOAuth2("alice@contoso.com", _issuer.IssueToken("bob@contoso.com"))));
            await smtp.AuthenticateAsync(new SaslMechanismOAuth2("alice@contoso.com", token));
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), $"msgid=<{message.MessageId}>: saved mail to INBOX", "Dovecot mbx1");
        var session = Assert.Single(await SmtpSessionsAsync(mail));
        Assert.Equal("XOAUTH2", session.GetProperty("Method").GetString());
        Assert.Equal(1, mail.SmtpBackendConnections);
        Assert.DoesNotContain(token, mail.ReadGatewayLogText(), StringComparison.Ordinal);
    }

    private async Task<MailDeployment> StartDeploymentAsync(IDictionary<string, string?>? overrides = null, IReadOnlyDictionary<string, int?>? smtpPorts = null)
    {
        var deployment = await StartAsync(peers, overrides, smtpPorts);
        _deployments.Add(deployment);
        return deployment;
    }
}
