using System.Net;
using System.Security.Cryptography;
using CasGateway.EndToEnd.Authentication;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Security;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Issue 15 item 3 over IMAP and POP3: the failed-login limiter shared with HTTP Basic (back-off, lockout the right
/// password does not bypass, in every protocol at once; other users and sources unaffected; the end of the lockout),
/// and the per-source cap on connections not logged in yet. The gateway refuses before any backend is contacted.
/// </summary>
public sealed class MailLoginLimiterTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private MailDeployment _mail = null!;

    public override async Task InitializeAsync()
    {
        var settings = LoginSources.SmallLimits();
        settings["Gateway:Mail:FailedAttemptDelay"] = "00:00:00";
        settings["Gateway:Mail:MaxFailedAttempts"] = "100";
        settings["Gateway:Mail:MaxPreLoginConnectionsPerSource"] = "3";
        _mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls, settings);
    }

    [Fact]
    public async Task Imap_guessing_brings_back_off_then_a_lockout_that_holds_in_every_protocol_until_it_ends()
    {
        await using var raw = await RawAsync(MailProtocol.Imap, "127.0.0.21");
        await raw.ReadLineAsync();
        await raw.SendAsync("a1 LOGIN alice@contoso.com guess-1\r\n");
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] Authentication failed.", await raw.ReadLineAsync());
        await raw.SendAsync("a2 LOGIN alice@contoso.com guess-2\r\n");
        Assert.Equal("a2 NO [AUTHENTICATIONFAILED] Authentication failed.", await raw.ReadLineAsync());
        await raw.SendAsync("a3 LOGIN alice@contoso.com guess-3\r\n");
        Assert.Equal("a3 NO [UNAVAILABLE] Too many failed logins; try again in 1 s.", await raw.ReadLineAsync());

        await ImapUntilAsync(raw, "guess-3", "NO [AUTHENTICATIONFAILED]");
        await ImapUntilAsync(raw, "guess-4", "NO [AUTHENTICATIONFAILED]");
        await raw.SendAsync("b1 LOGIN alice@contoso.com pw-alice\r\n");
        // The lockout's remaining time, in whole seconds (5 s lockout).
        Assert.Matches(@"^b1 NO \[UNAVAILABLE\] Too many failed logins; try again in [1-5] s\.$", await raw.ReadLineAsync());
        Assert.Equal(0, _mail.BackendConnections);

        // The lockout holds for POP3 and HTTP Basic too, from another source, with the right password.
        await using (var pop = await RawAsync(MailProtocol.Pop3, "127.0.0.22"))
        {
            await pop.ReadLineAsync();
            await pop.SendAsync("USER alice@contoso.com\r\nPASS pw-alice\r\n");
            Assert.Equal("+OK", await pop.ReadLineAsync());
            Assert.StartsWith("-ERR [SYS/TEMP] Too many failed logins; try again in ", await pop.ReadLineAsync(), StringComparison.Ordinal);
        }
        using (var http = LoginSources.HttpClientFrom(IPAddress.Parse("127.0.0.22"), _mail.Gateway.BaseAddress, _mail.Gateway.ServerCertificate))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, (await http.BasicGetAsync("alice@contoso.com", "pw-alice")).StatusCode);
        }
        using (var alice = await ImapFromAsync("127.0.0.22"))
        {
            await Assert.ThrowsAsync<AuthenticationException>(() => alice.AuthenticateAsync("alice@contoso.com", "pw-alice"));
        }
        Assert.Equal(0, _mail.BackendConnections);

        // Another user is unaffected, from another source and from the guesser's own address.
        using (var bob = await ImapFromAsync("127.0.0.22"))
        {
            await bob.AuthenticateAsync("bob@contoso.com", "pw-bob");
            Assert.True(bob.IsAuthenticated);
        }
        using (var carol = await ImapFromAsync("127.0.0.21"))
        {
            await carol.AuthenticateAsync("carol@contoso.com", "pw-carol");
            Assert.True(carol.IsAuthenticated);
        }

        // The lockout ends by itself.
        await LoginSources.PollAsync(
            async () =>
            {
                using var alice = await ImapFromAsync("127.0.0.22");
                try
                {
                    await alice.AuthenticateAsync("alice@contoso.com", "pw-alice");
                    return true;
                }
                catch (AuthenticationException)
                {
                    return false;
                }
            },
            loggedIn => loggedIn, TimeSpan.FromSeconds(20), "alice's lockout ends");
        Assert.Contains(await _mail.SessionEventsAsync(8), e => e.GetProperty("Outcome").GetString() == "LoginRefused");
    }

    [Fact]
    public async Task Pop_guessing_brings_back_off_then_a_lockout_the_right_password_does_not_bypass()
    {
        await using var raw = await RawAsync(MailProtocol.Pop3, "127.0.0.23");
        await raw.ReadLineAsync();
        for (var i = 1; i <= 2; i++)
        {
            await raw.SendAsync($"USER bob@contoso.com\r\nPASS guess-{i}\r\n");
            Assert.Equal("+OK", await raw.ReadLineAsync());
            Assert.Equal("-ERR [AUTH] Authentication failed.", await raw.ReadLineAsync());
        }
        await raw.SendAsync("USER bob@contoso.com\r\nPASS guess-3\r\n");
        Assert.Equal("+OK", await raw.ReadLineAsync());
        Assert.Equal("-ERR [SYS/TEMP] Too many failed logins; try again in 1 s.", await raw.ReadLineAsync());

        await PopUntilAsync(raw, "guess-3", "-ERR [AUTH]");
        await PopUntilAsync(raw, "guess-4", "-ERR [AUTH]");
        await raw.SendAsync("USER bob@contoso.com\r\nPASS pw-bob\r\n");
        Assert.Equal("+OK", await raw.ReadLineAsync());
        Assert.Matches(@"^-ERR \[SYS/TEMP\] Too many failed logins; try again in [1-5] s\.$", await raw.ReadLineAsync());
        Assert.Equal(0, _mail.BackendConnections);

        using (var carol = await PopFromAsync("127.0.0.24"))
        {
            await carol.AuthenticateAsync("carol@contoso.com", "pw-carol");
            Assert.True(carol.IsAuthenticated);
        }
        await LoginSources.PollAsync(
            async () =>
            {
                using var bob = await PopFromAsync("127.0.0.24");
                try
                {
                    await bob.AuthenticateAsync("bob@contoso.com", "pw-bob");
                    return true;
                }
                catch (AuthenticationException)
                {
                    return false;
                }
            },
            loggedIn => loggedIn, TimeSpan.FromSeconds(20), "bob's lockout ends");
    }

    [Fact]
    public async Task One_source_may_hold_only_so_many_connections_before_login()
    {
        var held = new List<RawMailConnection>();
        try
        {
            foreach (var protocol in new[] { MailProtocol.Imap, MailProtocol.Pop3, MailProtocol.Imap })
            {
                var connection = await RawAsync(protocol, "127.0.0.25");
                held.Add(connection);
                Assert.StartsWith(protocol == MailProtocol.Imap ? "* OK" : "+OK", await connection.ReadLineAsync(), StringComparison.Ordinal);
            }
            await using (var fourth = await RawAsync(MailProtocol.Imap, "127.0.0.25"))
            {
                Assert.Equal(["* BYE [UNAVAILABLE] Too many connections from your address; try again later."], await fourth.ReadUntilClosedAsync());
            }
            await using (var fourth = await RawAsync(MailProtocol.Pop3, "127.0.0.25"))
            {
                Assert.Equal(["-ERR [SYS/TEMP] Too many connections from your address; try again later."], await fourth.ReadUntilClosedAsync());
            }
            await using (var other = await RawAsync(MailProtocol.Imap, "127.0.0.26"))
            {
                Assert.StartsWith("* OK", await other.ReadLineAsync(), StringComparison.Ordinal);
            }

            // A session that logs in no longer counts; nor does one that closed.
            await held[0].SendAsync("a1 LOGIN carol@contoso.com pw-carol\r\n");
            Assert.StartsWith("a1 OK", await held[0].ReadLineAsync(), StringComparison.Ordinal);
            await AcceptedAgainAsync();
            await held[1].DisposeAsync();
            held.RemoveAt(1);
            await AcceptedAgainAsync();
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }
        var events = await _mail.SessionEventsAsync(4);
        Assert.Equal(2, events.Count(e => e.GetProperty("Outcome").GetString() == "TooManyConnections"));
        using var scraper = _mail.Gateway.CreateClient();
        var metrics = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.True(metrics.Sum("casgateway_login_refusals_total", ("reason", "connections")) >= 2, metrics.Text);
    }

    /// <summary>Polls until a new IMAP connection from the capped source gets a greeting (it frees its place again at once).</summary>
    private async Task AcceptedAgainAsync()
    {
        await LoginSources.PollAsync(
            async () =>
            {
                await using var connection = await RawAsync(MailProtocol.Imap, "127.0.0.25");
                return await connection.ReadLineAsync();
            },
            greeting => greeting?.StartsWith("* OK", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(10), "a place freed");
    }

    private Task<RawMailConnection> RawAsync(MailProtocol protocol, string from)
        => RawMailConnection.OpenAsync(_mail.EndPoint(protocol), _mail.Gateway.ServerCertificate, IPAddress.Parse(from));

    /// <summary>Sends wrong IMAP logins while the back-off refuses them, until one is checked and answered <paramref name="answer"/>.</summary>
    private static async Task ImapUntilAsync(RawMailConnection raw, string password, string answer)
    {
        var tag = 0;
        var line = await LoginSources.PollAsync(
            async () =>
            {
                tag++;
                await raw.SendAsync($"p{tag} LOGIN alice@contoso.com {password}\r\n");
                return await raw.ReadLineAsync();
            },
            line => line?.Contains("[UNAVAILABLE]", StringComparison.Ordinal) != true, TimeSpan.FromSeconds(5), "back-off ends");
        Assert.Equal($"p{tag} {answer} Authentication failed.", line);
    }

    private static async Task PopUntilAsync(RawMailConnection raw, string password, string answer)
    {
        var line = await LoginSources.PollAsync(
            async () =>
            {
                await raw.SendAsync($"USER bob@contoso.com\r\nPASS {password}\r\n");
                Assert.Equal("+OK", await raw.ReadLineAsync());
                return await raw.ReadLineAsync();
            },
            line => line?.Contains("[SYS/TEMP]", StringComparison.Ordinal) != true, TimeSpan.FromSeconds(5), "back-off ends");
        Assert.Equal($"{answer} Authentication failed.", line);
    }

    private async Task<ImapClient> ImapFromAsync(string from)
    {
        var client = new ImapClient { Timeout = 30_000, LocalEndPoint = new IPEndPoint(IPAddress.Parse(from), 0) };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => IsGateway(certificate);
        var endPoint = _mail.EndPoint(MailProtocol.Imap);
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
        return client;
    }

    private async Task<Pop3Client> PopFromAsync(string from)
    {
        var client = new Pop3Client { Timeout = 30_000, LocalEndPoint = new IPEndPoint(IPAddress.Parse(from), 0) };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) => IsGateway(certificate);
        var endPoint = _mail.EndPoint(MailProtocol.Pop3);
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.SslOnConnect);
        return client;
    }

    private bool IsGateway(System.Security.Cryptography.X509Certificates.X509Certificate? certificate)
        => certificate?.GetCertHashString(HashAlgorithmName.SHA256) == _mail.Gateway.ServerCertificate.GetCertHashString(HashAlgorithmName.SHA256);
}
