using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CasGateway.Location;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Issue 16 gaps on the mail path: the user's mailbox server down, a server that never greets (login timeout), and a
/// wrong Dovecot master password. Each is a clear temporary protocol error for the client — no server name, no
/// hang — and one session log line saying what happened.
/// </summary>
public sealed class MailBackendFailureTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private const string User = "alice@contoso.com";

    [Fact]
    public async Task With_the_mailbox_server_down_imap_and_pop_get_a_temporary_error_and_the_session_log_says_why()
    {
        var mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls);
        var down = $"127.0.0.1:{DovecotServer.FreePort()}";
        await PointAsync(mail, down, down);

        await using (var imap = await LoggedInRawAsync(mail, MailProtocol.Imap))
        {
            Assert.Equal("a1 NO [UNAVAILABLE] The mailbox server is unavailable; try again later.", await imap.ReadLineAsync());
        }
        await using (var pop = await LoggedInRawAsync(mail, MailProtocol.Pop3))
        {
            Assert.Equal("-ERR [SYS/TEMP] The mailbox server is unavailable; try again later.", await pop.ReadLineAsync());
        }

        var sessions = await mail.SessionEventsAsync(2);
        Assert.Equal(2, sessions.Count);
        foreach (var session in sessions)
        {
            Assert.Equal("BackendUnavailable", session.GetProperty("Outcome").GetString());
            Assert.Equal(User, session.GetProperty("User").GetString());
            Assert.StartsWith("Mailbox server mbx1.contoso.com cannot be reached:", session.GetProperty("Reason").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_mailbox_server_that_never_greets_fails_the_login_once_the_login_timeout_passes()
    {
        var mail = await StartDeploymentAsync(MailBackendTls.StartTls, new Dictionary<string, string?> { ["Gateway:Mail:Backend:LoginTimeout"] = "00:00:01" });
        // Takes connections (the kernel completes them) and never says a word.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var endpoint = $"127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
            await PointAsync(mail, endpoint, endpoint);

            await using (var imap = await LoggedInRawAsync(mail, MailProtocol.Imap))
            {
                var clock = Stopwatch.StartNew();
                Assert.Equal("a1 NO [UNAVAILABLE] The mailbox server refused the session; try again later.", await imap.ReadLineAsync(TimeSpan.FromSeconds(20)));
                Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {clock.ElapsedMilliseconds} ms, before the login timeout");
            }

            var session = Assert.Single(await mail.SessionEventsAsync());
            Assert.Equal("BackendLoginFailed", session.GetProperty("Outcome").GetString());
            Assert.Equal("Login to mailbox server mbx1.contoso.com failed: it did not answer in time", session.GetProperty("Reason").GetString());
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public async Task A_wrong_master_password_is_a_temporary_refusal_logged_with_the_servers_answer_and_never_the_password()
    {
        const string wrong = "not-the-master-password";
        var mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls, new Dictionary<string, string?> { ["Gateway:Mail:Backend:MasterPassword"] = wrong });

        await using (var imap = await LoggedInRawAsync(mail, MailProtocol.Imap))
        {
            Assert.Equal("a1 NO [UNAVAILABLE] The mailbox server refused the session; try again later.", await imap.ReadLineAsync());
        }
        await using (var pop = await LoggedInRawAsync(mail, MailProtocol.Pop3))
        {
            Assert.Equal("-ERR [SYS/TEMP] The mailbox server refused the session; try again later.", await pop.ReadLineAsync());
        }

        var sessions = await mail.SessionEventsAsync(2);
        Assert.Equal(2, sessions.Count);
        foreach (var session in sessions)
        {
            Assert.Equal("BackendLoginFailed", session.GetProperty("Outcome").GetString());
            // Dovecot's own refusal, passed on for the operator.
            Assert.Matches("^Login to mailbox server mbx1\\.contoso\\.com failed: .*Authentication failed", session.GetProperty("Reason").GetString());
        }
        Assert.True(mail.BackendConnections >= 2);
        var log = mail.ReadGatewayLogText();
        Assert.DoesNotContain(wrong, log, StringComparison.Ordinal);
        Assert.DoesNotContain(TestDirectory.PasswordOf(User), log, StringComparison.Ordinal);
    }

    /// <summary>Points mbx1's IMAP and POP3 endpoints elsewhere in the directory and waits for the gateway to reload it.</summary>
    private static async Task PointAsync(MailDeployment mail, string imap, string pop)
    {
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        mail.Gateway.GetRequiredService<IMailboxLocator>().Changed += () => reloaded.TrySetResult();
        mail.Topology.Directory.MailEndpoints["mbx1.contoso.com"] = (imap, pop);
        mail.Topology.Directory.Save();
        await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>A raw session that has greeted and sent the user's (right) login; the next line is the answer.</summary>
    private static async Task<RawMailConnection> LoggedInRawAsync(MailDeployment mail, MailProtocol protocol)
    {
        var raw = await mail.ConnectRawAsync(protocol);
        await raw.ReadLineAsync();
        var password = TestDirectory.PasswordOf(User);
        if (protocol == MailProtocol.Imap)
        {
            await raw.SendAsync($"a1 LOGIN \"{User}\" \"{password}\"\r\n");
        }
        else
        {
            await raw.SendAsync($"USER {User}\r\n");
            Assert.StartsWith("+OK", await raw.ReadLineAsync(), StringComparison.Ordinal);
            await raw.SendAsync($"PASS {password}\r\n");
        }
        return raw;
    }
}
