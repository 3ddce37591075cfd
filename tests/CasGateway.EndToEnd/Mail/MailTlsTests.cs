using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit;
using MailKit.Search;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: STARTTLS/STLS on the 143/110-style listeners, and the backend leg in each TLS mode.</summary>
public sealed class MailTlsTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    [Theory]
    [InlineData(MailBackendTls.ImplicitTls)]
    [InlineData(MailBackendTls.StartTls)]
    [InlineData(MailBackendTls.None)]
    public async Task Imap_STARTTLS_then_login_reaches_the_mailbox(MailBackendTls backendTls)
    {
        var mail = await StartAsync(backendTls);
        using var client = await mail.ConnectImapAsync(implicitTls: false);
        Assert.True(client.IsSecure, "MailKit upgraded the connection with STARTTLS");
        await client.AuthenticateAsync("bob@contoso.com", TestDirectory.PasswordOf("bob@contoso.com"));
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        Assert.NotEmpty(await client.Inbox.SearchAsync(SearchQuery.SubjectContains(Dovecot.Server("mbx2.contoso.com").MarkerSubject)));
        await client.DisconnectAsync(quit: true);
        var session = Assert.Single(await mail.SessionEventsAsync());
        Assert.True(session.GetProperty("Tls").GetBoolean());
        Assert.Equal("Proxied", session.GetProperty("Outcome").GetString());
    }

    [Theory]
    [InlineData(MailBackendTls.ImplicitTls)]
    [InlineData(MailBackendTls.StartTls)]
    public async Task Pop_STLS_then_login_reaches_the_mailbox(MailBackendTls backendTls)
    {
        var mail = await StartAsync(backendTls);
        using var client = await mail.ConnectPopAsync(implicitTls: false);
        Assert.True(client.IsSecure, "MailKit upgraded the connection with STLS");
        await client.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        Assert.True(await client.GetMessageCountAsync() >= 1);
        await client.DisconnectAsync(quit: true);
        Assert.Equal("mbx1.contoso.com", Assert.Single(await mail.SessionEventsAsync()).GetProperty("BackendServer").GetString());
    }

    [Fact]
    public async Task Allowed_clear_text_login_works_and_is_logged_as_a_warning()
    {
        var mail = await StartAsync(MailBackendTls.ImplicitTls, new Dictionary<string, string?> { ["Gateway:Mail:AllowPlainTextLogin"] = "true" });
        await using var raw = await mail.ConnectRawAsync(MailProtocol.Imap, implicitTls: false);
        Assert.Equal("* OK [CAPABILITY IMAP4rev1 SASL-IR ID STARTTLS AUTH=PLAIN] CasGateway IMAP4rev1 proxy ready.", await raw.ReadLineAsync());
        await raw.SendAsync("a1 LOGIN carol@contoso.com pw-carol\r\n");
        Assert.StartsWith("a1 OK [CAPABILITY IMAP4rev1", await raw.ReadLineAsync(), StringComparison.Ordinal);
        await raw.SendAsync("a2 LOGOUT\r\n");
        Assert.Contains("* BYE Logging out", await raw.ReadUntilClosedAsync());
        var session = Assert.Single(await mail.SessionEventsAsync());
        Assert.False(session.GetProperty("Tls").GetBoolean());
        Assert.Equal("Warning", session.GetProperty("@l").GetString());
    }

    [Fact]
    public async Task Gateway_refuses_a_mailbox_server_whose_certificate_is_not_pinned()
    {
        var mail = await StartAsync(MailBackendTls.ImplicitTls, new Dictionary<string, string?>
        {
            ["Gateway:Mail:Backend:TrustedCertificateThumbprints:0"] = new string('A', 64),
            ["Gateway:Mail:Backend:TrustedCertificateThumbprints:1"] = null,
        });
        using var client = await mail.ConnectImapAsync();
        var error = await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(
            () => client.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com")));
        Assert.Equal("The mailbox server is unavailable; try again later.", error.Message);
        await client.DisconnectAsync(quit: true);
        var session = Assert.Single(await mail.SessionEventsAsync());
        Assert.Equal("BackendUnavailable", session.GetProperty("Outcome").GetString());
    }

    private Task<MailDeployment> StartAsync(MailBackendTls backendTls, Dictionary<string, string?>? overrides = null)
        => StartDeploymentAsync(backendTls, overrides);
}
