using System.Text;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: pre-login limits — each breach gets the protocol's error and the connection is closed, no backend touched.</summary>
public sealed class MailLimitsTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private MailDeployment _mail = null!;

    public override async Task InitializeAsync() => _mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls);

    [Theory]
    [InlineData(MailProtocol.Imap, "* BAD Line too long.")]
    [InlineData(MailProtocol.Pop3, "-ERR Line too long.")]
    public async Task One_megabyte_line_before_login_gets_an_error_and_close(MailProtocol protocol, string error)
    {
        await using var raw = await _mail.ConnectRawAsync(protocol);
        await raw.ReadLineAsync();
        var line = Encoding.ASCII.GetBytes("a1 LOGIN " + new string('x', 1024 * 1024) + "\r\n");
        var sending = raw.SendAsync(line);
        var answer = await raw.ReadUntilClosedAsync();
        try
        {
            await sending;
        }
        catch (IOException)
        {
            // The rest of the line may no longer be accepted once the gateway has closed: expected.
        }
        Assert.Equal(protocol == MailProtocol.Imap ? ["* BAD Line too long.", "* BYE Closing connection."] : [error], answer);
        Assert.Equal(0, _mail.BackendConnections);
        Assert.Equal("LineTooLong", Assert.Single(await _mail.SessionEventsAsync()).GetProperty("Outcome").GetString());
    }

    [Theory]
    [InlineData("{100000}")]
    [InlineData("{100000+}")]
    [InlineData("{99999999999999999999}")]
    public async Task Oversized_literal_before_login_gets_BAD_and_close(string literal)
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        await raw.SendAsync($"a1 LOGIN {literal}\r\n");
        Assert.Equal(["a1 BAD [TOOBIG] Literal too large before login.", "* BYE Closing connection."], await raw.ReadUntilClosedAsync());
        Assert.Equal(0, _mail.BackendConnections);
        Assert.Equal("LiteralTooLarge", Assert.Single(await _mail.SessionEventsAsync()).GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task Imap_closes_after_the_last_allowed_failed_login()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap);
        await raw.ReadLineAsync();
        for (var i = 1; i <= 2; i++)
        {
            await raw.SendAsync($"a{i} LOGIN alice@contoso.com bad-secret-{i}\r\n");
            Assert.Equal($"a{i} NO [AUTHENTICATIONFAILED] Authentication failed.", await raw.ReadLineAsync());
        }
        var started = DateTime.UtcNow;
        await raw.SendAsync("a3 AUTHENTICATE PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@contoso.com\0bad-secret-3")) + "\r\n");
        Assert.Equal(["a3 NO [AUTHENTICATIONFAILED] Authentication failed.", "* BYE Too many failed login attempts."], await raw.ReadUntilClosedAsync());
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(190), "a failed login is answered after the configured delay");
        Assert.Equal(0, _mail.BackendConnections);
        var session = Assert.Single(await _mail.SessionEventsAsync());
        Assert.Equal("TooManyFailedAttempts", session.GetProperty("Outcome").GetString());
        Assert.DoesNotContain("bad-secret", _mail.ReadGatewayLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pop_closes_after_the_last_allowed_failed_login()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Pop3);
        await raw.ReadLineAsync();
        for (var i = 1; i <= 2; i++)
        {
            await raw.SendAsync($"USER bob@contoso.com\r\nPASS wrong{i}\r\n");
            Assert.Equal("+OK", await raw.ReadLineAsync());
            Assert.Equal("-ERR [AUTH] Authentication failed.", await raw.ReadLineAsync());
        }
        await raw.SendAsync("USER bob@contoso.com\r\nPASS wrong3\r\n");
        Assert.Equal(["+OK", "-ERR [AUTH] Authentication failed. Too many failed login attempts, closing."], await raw.ReadUntilClosedAsync());
        Assert.Equal(0, _mail.BackendConnections);
    }

    [Theory]
    [InlineData(MailProtocol.Imap, "* BYE Disconnected for inactivity.")]
    [InlineData(MailProtocol.Pop3, "-ERR Disconnected for inactivity.")]
    public async Task Silent_client_is_disconnected_after_the_pre_login_idle_timeout(MailProtocol protocol, string goodbye)
    {
        var impatient = await StartDeploymentAsync(MailBackendTls.ImplicitTls, new Dictionary<string, string?>
        {
            ["Gateway:Mail:PreLoginIdleTimeout"] = "00:00:01",
        });
        await using var raw = await impatient.ConnectRawAsync(protocol);
        await raw.ReadLineAsync();
        var started = DateTime.UtcNow;
        Assert.Equal([goodbye], await raw.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        Assert.Equal("IdleTimeout", Assert.Single(await impatient.SessionEventsAsync()).GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task Imap_commands_after_STARTTLS_in_the_same_packet_are_refused()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Imap, implicitTls: false);
        await raw.ReadLineAsync();
        await raw.SendAsync("a1 STARTTLS\r\na2 LOGIN alice@contoso.com pw-alice\r\n");
        Assert.Equal(["a1 BAD STARTTLS must be the last command before the TLS handshake.", "* BYE Closing connection."], await raw.ReadUntilClosedAsync());
        Assert.Equal(0, _mail.BackendConnections);
    }

    [Fact]
    public async Task Pop_commands_after_STLS_in_the_same_packet_are_refused()
    {
        await using var raw = await _mail.ConnectRawAsync(MailProtocol.Pop3, implicitTls: false);
        await raw.ReadLineAsync();
        await raw.SendAsync("STLS\r\nUSER bob@contoso.com\r\n");
        Assert.Equal(["-ERR STLS must be the last command before the TLS handshake."], await raw.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Clear_text_login_is_refused_before_STARTTLS()
    {
        await using (var raw = await _mail.ConnectRawAsync(MailProtocol.Imap, implicitTls: false))
        {
            Assert.Equal("* OK [CAPABILITY IMAP4rev1 SASL-IR ID STARTTLS LOGINDISABLED] CasGateway IMAP4rev1 proxy ready.", await raw.ReadLineAsync());
            await raw.SendAsync("a1 LOGIN alice@contoso.com pw-alice\r\n");
            Assert.Equal("a1 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", await raw.ReadLineAsync());
        }
        await using (var raw = await _mail.ConnectRawAsync(MailProtocol.Pop3, implicitTls: false))
        {
            await raw.ReadLineAsync();
            await raw.SendAsync("USER bob@contoso.com\r\n");
            Assert.Equal("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.", await raw.ReadLineAsync());
        }
        Assert.Equal(0, _mail.BackendConnections);
    }
}
