using System.Text;
using CasGateway.EndToEnd.Health;
using CasGateway.EndToEnd.Mail.Smtp;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using CasGateway.Throttling;
using MailKit;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Issue 22: logged-in IMAP, POP3 and SMTP submission sessions per user are capped (<c>Gateway:Throttling:MailSessions</c>)
/// — on every node together through Redis, on each node alone without it. A login over the cap gets its protocol's
/// answer (IMAP <c>NO [LIMIT]</c>, POP3 <c>-ERR [IN-USE]</c>, SMTP <c>454 4.7.0</c>), is counted, and no mailbox
/// server is contacted for it; a session that ends frees its place. Real Dovecot and Postfix behind, MailKit in front.
/// </summary>
public sealed class MailSessionCapTests(SmtpPeers peers, ITestOutputHelper output) : IClassFixture<SmtpPeers>, IAsyncLifetime
{
    private const string Refusal = "Too many sessions are open for this account; close one and try again.";
    private RedisServer _redis = null!;
    private readonly List<MailDeployment> _deployments = [];

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var deployment in _deployments)
        {
            deployment.WriteLogs(output);
        }
        await Cleanup.DisposeAllAsync([.. _deployments, _redis]);
    }

    private async Task<MailDeployment> StartNodeAsync(bool shared, string imapCap)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Mail:Smtp:AcceptedDomains:0"] = "contoso.com",
            ["Gateway:Throttling:MailSessions:Imap"] = imapCap,
            ["Gateway:Throttling:MailSessions:Pop"] = "1",
            ["Gateway:Throttling:MailSessions:Smtp"] = "1",
        };
        if (shared)
        {
            settings["Gateway:Redis:Configuration"] = _redis.Configuration;
        }
        var deployment = await SmtpTestKit.StartAsync(peers, settings);
        _deployments.Add(deployment);
        return deployment;
    }

    [Fact]
    public async Task Two_nodes_sharing_redis_hold_a_user_to_one_cap_per_protocol_with_each_protocols_answer()
    {
        var nodeA = await StartNodeAsync(shared: true, imapCap: "2");
        var nodeB = await StartNodeAsync(shared: true, imapCap: "2");

        // IMAP: two sessions, one on each node; a third on either is refused before any mailbox server is asked.
        using var imapA = await nodeA.LoginImapAsync("alice@contoso.com");
        using var imapB = await nodeB.LoginImapAsync("alice@contoso.com");
        // In Redis: one member per session, on a lease.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var sessions = new RedisKey("casgw:mail-sessions:Imap|alice@contoso.com");
        Assert.Equal(2, await redis.GetDatabase().SortedSetLengthAsync(sessions));
        Assert.InRange((await redis.GetDatabase().KeyTimeToLiveAsync(sessions))!.Value, TimeSpan.FromSeconds(1), MailSessionSlots.Lease);
        var backendsA = nodeA.BackendConnections;
        await using (var raw = await nodeA.ConnectRawAsync(MailProtocol.Imap))
        {
            await raw.ReadLineAsync();
            await raw.SendAsync("a1 LOGIN alice@contoso.com pw-alice\r\n");
            Assert.Equal($"a1 NO [LIMIT] {Refusal}", await raw.ReadLineAsync());
        }
        Assert.Equal(backendsA, nodeA.BackendConnections);
        // Another user has a cap of their own.
        using (var bob = await nodeB.LoginImapAsync("bob@contoso.com"))
        {
            Assert.True(bob.IsAuthenticated);
        }

        // POP3: one session.
        using var popA = await nodeA.ConnectPopAsync();
        await popA.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        await using (var raw = await nodeB.ConnectRawAsync(MailProtocol.Pop3))
        {
            await raw.ReadLineAsync();
            await raw.SendAsync("USER alice@contoso.com\r\nPASS pw-alice\r\n");
            Assert.Equal("+OK", (await raw.ReadLineAsync())?[..3]);
            Assert.Equal($"-ERR [IN-USE] {Refusal}", await raw.ReadLineAsync());
        }

        // SMTP submission: one authenticated session.
        using var smtpA = await SmtpTestKit.ConnectAsync(nodeA, implicitTls: true);
        await smtpA.AuthenticateAsync("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        await using (var raw = await SmtpTestKit.ConnectRawAsync(nodeB, implicitTls: true))
        {
            Assert.Contains(await SmtpTestKit.CommandAsync(raw, "EHLO client.fabrikam.test"), l => l.Contains("AUTH PLAIN", StringComparison.Ordinal));
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice@contoso.com\0pw-alice"));
            Assert.Equal($"454 4.7.0 {Refusal}", Assert.Single(await SmtpTestKit.CommandAsync(raw, "AUTH PLAIN " + plain)));
        }

        // Each refusal counted on the node that gave it.
        Assert.Equal(1, await SessionRefusalsAsync(nodeA, "Imap"));
        Assert.Equal(1, await SessionRefusalsAsync(nodeB, "Pop3"));
        Assert.Equal(1, await SessionRefusalsAsync(nodeB, "Smtp"));

        // A session that ends frees its place, on every node.
        await imapA.DisconnectAsync(quit: true);
        await popA.DisconnectAsync(quit: true);
        await smtpA.DisconnectAsync(quit: true);
        using var imapAgain = await LoginEventuallyAsync(() => nodeB.ConnectImapAsync());
        using var popAgain = await LoginEventuallyAsync(() => nodeB.ConnectPopAsync());
        Assert.True(imapAgain.IsAuthenticated);
        await imapB.DisconnectAsync(quit: true);
        await HealthTestKit.EventuallyAsync(async () => await redis.GetDatabase().SortedSetLengthAsync(sessions) == 1,
            TimeSpan.FromSeconds(5), "the ended sessions gone from Redis");
        Assert.True(popAgain.IsAuthenticated);
    }

    [Fact]
    public async Task Without_redis_each_node_caps_its_own_sessions()
    {
        var node = await StartNodeAsync(shared: false, imapCap: "1");
        using var first = await node.LoginImapAsync("carol@contoso.com");
        await using (var raw = await node.ConnectRawAsync(MailProtocol.Imap))
        {
            await raw.ReadLineAsync();
            await raw.SendAsync("a1 LOGIN carol@contoso.com pw-carol\r\n");
            Assert.Equal($"a1 NO [LIMIT] {Refusal}", await raw.ReadLineAsync());
        }
        Assert.Equal(1, await SessionRefusalsAsync(node, "Imap"));
        await first.DisconnectAsync(quit: true);
        using var again = await LoginEventuallyAsync(() => node.ConnectImapAsync(), "carol@contoso.com");
        Assert.True(again.IsAuthenticated);
    }

    private static async Task<double> SessionRefusalsAsync(MailDeployment node, string protocol)
    {
        using var client = node.Gateway.CreateClient();
        double count = 0;
        // The exporter answers from a short-lived cache: poll until the refusal shows.
        await HealthTestKit.EventuallyAsync(async () =>
        {
            count = PrometheusText.Parse(await client.GetStringAsync("/metrics")).Sum("casgateway_login_refusals_total", ("protocol", protocol), ("reason", "sessions"));
            return count > 0;
        }, TimeSpan.FromSeconds(5), $"a {protocol} session refusal counted");
        return count;
    }

    /// <summary>Connects and logs in until it works: a closed session frees its place once the gateway has seen the client leave.</summary>
    private static async Task<T> LoginEventuallyAsync<T>(Func<Task<T>> connect, string user = "alice@contoso.com")
        where T : IMailService
    {
        T? client = default;
        await HealthTestKit.EventuallyAsync(async () =>
        {
            client = await connect();
            try
            {
                await client.AuthenticateAsync(user, TestDirectory.PasswordOf(user));
                return true;
            }
            catch (MailKit.Security.AuthenticationException)
            {
                client.Dispose();
                return false;
            }
        }, TimeSpan.FromSeconds(10), "a login once a session ended");
        return client!;
    }
}
