using System.Diagnostics;
using System.Net;
using CasGateway.EndToEnd.Health;
using CasGateway.Health;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Issue 8: health and drain from the HTTP side cover the IMAP and POP3 listeners — a drain stops accepting, lets
/// sessions go on through the grace period, then closes them once quiet; the listeners also take the PROXY protocol
/// and count among the node's client connections. Real Dovecot behind, sessions spoken by hand to see every line.
/// </summary>
[Collection(Health.LoadSensitive.Name)]
public sealed class MailDrainTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    [Fact]
    public async Task Draining_imap_refuses_new_sessions_lets_open_ones_work_through_the_grace_then_closes_them()
    {
        var grace = TimeSpan.FromSeconds(2);
        var mail = await StartAsync(grace, quiet: TimeSpan.FromSeconds(1));
        using var http = mail.Gateway.CreateClient();
        await using var session = await LoggedInImapAsync(mail, "alice@contoso.com");
        await using var idle = await mail.ConnectRawAsync(MailProtocol.Imap);
        Assert.StartsWith("* OK", await idle.ReadLineAsync());
        var backendConnections = mail.BackendConnections;

        var drain = Stopwatch.StartNew();
        await http.SetStateAsync(mail.Topology, "Imap", "Draining");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.ProbeAsync("/imap/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.ProbeAsync("/pop/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await http.ProbeAsync("/owa/healthcheck.htm")).Status);
        await using (var refused = await mail.ConnectRawAsync(MailProtocol.Imap))
        {
            var line = Assert.Single(await refused.ReadUntilClosedAsync());
            Assert.StartsWith("* BYE [UNAVAILABLE]", line);
        }
        await using (var pop = await mail.ConnectRawAsync(MailProtocol.Pop3))
        {
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
        }
        await session.SendAsync("a3 NOOP\r\n");
        Assert.StartsWith("a3 OK", await ReadTaggedAsync(session, "a3"));
        Assert.True(drain.Elapsed < grace, $"the open session answered within the grace period ({drain.Elapsed})");
        Assert.Equal(backendConnections, mail.BackendConnections);

        var lines = await session.ReadUntilClosedAsync(TimeSpan.FromSeconds(10));
        var closedAfter = drain.Elapsed;
        Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(lines));
        Assert.True(closedAfter >= grace, $"closed after the grace period, not before ({closedAfter})");
        Assert.True(closedAfter < grace + TimeSpan.FromSeconds(4), $"closed soon after the grace period ({closedAfter})");
        Assert.Equal(["* BYE Server shutting down."], await idle.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        Output.WriteLine($"logged-in session closed {closedAfter.TotalMilliseconds:0} ms after the drain started (grace {grace.TotalSeconds} s)");

        var outcomes = (await mail.SessionEventsAsync(4)).Select(e => (e.GetProperty("Outcome").GetString(), e.GetProperty("User").GetString())).ToList();
        Assert.Contains(("OutOfService", null), outcomes);
        Assert.Contains(("ShuttingDown", "alice@contoso.com"), outcomes);
        Assert.Contains(("ShuttingDown", null), outcomes);

        await http.SetStateAsync(mail.Topology, "Imap", "Active");
        Assert.Equal(HttpStatusCode.OK, (await http.ProbeAsync("/imap/healthcheck.htm")).Status);
        await using var again = await LoggedInImapAsync(mail, "bob@contoso.com");
    }

    [Fact]
    public async Task After_the_grace_a_busy_session_is_closed_only_once_it_falls_quiet()
    {
        var quiet = TimeSpan.FromSeconds(2);
        var mail = await StartAsync(grace: TimeSpan.FromMilliseconds(500), quiet);
        using var http = mail.Gateway.CreateClient();
        await using var session = await LoggedInImapAsync(mail, "alice@contoso.com");
        await using var idle = await mail.ConnectRawAsync(MailProtocol.Imap);
        Assert.StartsWith("* OK", await idle.ReadLineAsync());

        await http.SetStateAsync(mail.Topology, "Imap", "Draining");
        // The pre-login connection is closed when the grace period ends: from then on the drain wants the session gone.
        Assert.Equal(["* BYE Server shutting down."], await idle.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        var busy = Stopwatch.StartNew();
        var lastAnswer = Stopwatch.StartNew();
        for (var i = 0; busy.Elapsed < TimeSpan.FromSeconds(3); i++)
        {
            await Task.Delay(200);
            await session.SendAsync($"n{i} NOOP\r\n");
            Assert.StartsWith($"n{i} OK", await ReadTaggedAsync(session, $"n{i}"));
            lastAnswer.Restart();
        }

        Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(await session.ReadUntilClosedAsync(TimeSpan.FromSeconds(10))));
        var quietFor = lastAnswer.Elapsed;
        Assert.True(quietFor >= quiet - TimeSpan.FromMilliseconds(300), $"closed only after the quiet period ({quietFor})");
        Assert.True(quietFor < quiet + TimeSpan.FromSeconds(3), $"closed soon after falling quiet ({quietFor})");
        Output.WriteLine($"busy for {busy.Elapsed.TotalSeconds:0.0} s after the grace period, then closed {quietFor.TotalMilliseconds:0} ms after its last answer (quiet period {quiet.TotalSeconds} s)");
    }

    [Fact]
    public async Task Inactive_imap_closes_logged_in_sessions_at_once()
    {
        var mail = await StartAsync(grace: TimeSpan.FromSeconds(30), quiet: TimeSpan.FromSeconds(30));
        using var http = mail.Gateway.CreateClient();
        await using var session = await LoggedInImapAsync(mail, "bob@contoso.com");

        var clock = Stopwatch.StartNew();
        await http.SetStateAsync(mail.Topology, "Imap", "Inactive");

        Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(await session.ReadUntilClosedAsync(TimeSpan.FromSeconds(10))));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"closed at once, not after grace or quiet periods ({clock.Elapsed})");
        await using var refused = await mail.ConnectRawAsync(MailProtocol.Imap, implicitTls: false);
        Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(await refused.ReadUntilClosedAsync()));
    }

    [Fact]
    public async Task Draining_pop_refuses_new_sessions_and_closes_a_quiet_one_without_a_word()
    {
        var mail = await StartAsync(grace: TimeSpan.FromSeconds(1), quiet: TimeSpan.FromMilliseconds(500));
        using var http = mail.Gateway.CreateClient();
        await using var session = await mail.ConnectRawAsync(MailProtocol.Pop3);
        Assert.StartsWith("+OK", await session.ReadLineAsync());
        await PopLoginAsync(session, "carol@contoso.com");
        await session.SendAsync("STAT\r\n");
        Assert.StartsWith("+OK", await session.ReadLineAsync());

        await http.SetStateAsync(mail.Topology, "Pop", "Draining");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.ProbeAsync("/pop/healthcheck.htm")).Status);
        await using (var refused = await mail.ConnectRawAsync(MailProtocol.Pop3, implicitTls: false))
        {
            Assert.StartsWith("-ERR [SYS/TEMP]", Assert.Single(await refused.ReadUntilClosedAsync()));
        }
        await using (var imap = await mail.ConnectRawAsync(MailProtocol.Imap))
        {
            Assert.StartsWith("* OK", await imap.ReadLineAsync());
        }

        Assert.Empty(await session.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        var events = await mail.SessionEventsAsync(3);
        var closed = Assert.Single(events, e => e.GetProperty("User").GetString() == "carol@contoso.com");
        Assert.Equal("ShuttingDown", closed.GetProperty("Outcome").GetString());
        Assert.Equal("Pop3", closed.GetProperty("Protocol").GetString());
    }

    [Fact]
    public async Task Draining_the_node_closes_mail_sessions_with_its_other_client_connections()
    {
        var mail = await StartAsync(grace: TimeSpan.FromSeconds(1), quiet: TimeSpan.FromMilliseconds(500));
        var connections = mail.Gateway.GetRequiredService<ClientConnectionRegistry>();
        using var http = mail.Gateway.CreateClient();
        await using var imap = await LoggedInImapAsync(mail, "alice@contoso.com");
        await using var pop = await mail.ConnectRawAsync(MailProtocol.Pop3);
        Assert.StartsWith("+OK", await pop.ReadLineAsync());
        Assert.True(connections.OpenConnections >= 2, $"mail connections are registered ({connections.OpenConnections})");

        await http.SetStateAsync(mail.Topology, "ServerWideOffline", "Draining");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.ProbeAsync("/imap/healthcheck.htm")).Status);
        await using (var refused = await mail.ConnectRawAsync(MailProtocol.Imap))
        {
            Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(await refused.ReadUntilClosedAsync()));
        }

        Assert.StartsWith("* BYE [UNAVAILABLE]", Assert.Single(await imap.ReadUntilClosedAsync(TimeSpan.FromSeconds(10))));
        Assert.Equal(["-ERR [SYS/TEMP] Server shutting down."], await pop.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        http.Dispose();
        await HealthTestKit.EventuallyAsync(() => connections.OpenConnections == 0, TimeSpan.FromSeconds(5), "no client connection left");
    }

    [Fact]
    public async Task Behind_a_trusted_balancer_the_mail_client_address_reaches_logs_and_dovecot_and_others_are_greeted_at_once()
    {
        var balancer = IPAddress.Parse("127.0.0.2");
        var mail = await StartAsync(grace: TimeSpan.FromSeconds(1), quiet: TimeSpan.FromSeconds(1), new()
        {
            ["Gateway:Listeners:ProxyProtocol:TrustedBalancers:0"] = balancer.ToString(),
        });
        var mbx1 = Dovecot.Server("mbx1.contoso.com");
        mbx1.ReadNewLog();
        var imapEndPoint = mail.EndPoint(MailProtocol.Imap, implicitTls: false);
        await using (var viaBalancer = await RawMailConnection.OpenAsync(imapEndPoint, tlsCertificate: null, from: balancer))
        {
            await viaBalancer.SendAsync($"PROXY TCP4 203.0.113.7 127.0.0.1 40123 {imapEndPoint.Port}\r\n");
            Assert.StartsWith("* OK", await viaBalancer.ReadLineAsync());
            await viaBalancer.SendAsync("a1 STARTTLS\r\n");
            Assert.StartsWith("a1 OK", await viaBalancer.ReadLineAsync());
            await viaBalancer.UpgradeToTlsAsync(mail.Gateway.ServerCertificate);
            await viaBalancer.SendAsync($"a2 LOGIN alice@contoso.com {TestDirectory.PasswordOf("alice@contoso.com")}\r\n");
            Assert.StartsWith("a2 OK", await ReadTaggedAsync(viaBalancer, "a2"));
            await viaBalancer.SendAsync("a3 LOGOUT\r\n");
            Assert.StartsWith("a3 OK", await ReadTaggedAsync(viaBalancer, "a3"));
        }
        var popEndPoint = mail.EndPoint(MailProtocol.Pop3, implicitTls: false);
        await using (var viaBalancer = await RawMailConnection.OpenAsync(popEndPoint, tlsCertificate: null, from: balancer))
        {
            // PROXY v2 this time (HAProxy's send-proxy-v2).
            await viaBalancer.SendAsync(ProxyV2(IPAddress.Parse("198.51.100.9"), 50999, popEndPoint.Port));
            Assert.StartsWith("+OK", await viaBalancer.ReadLineAsync());
            await viaBalancer.SendAsync("STLS\r\n");
            Assert.StartsWith("+OK", await viaBalancer.ReadLineAsync());
            await viaBalancer.UpgradeToTlsAsync(mail.Gateway.ServerCertificate);
            await PopLoginAsync(viaBalancer, "carol@contoso.com");
            await viaBalancer.SendAsync("QUIT\r\n");
            Assert.StartsWith("+OK", await viaBalancer.ReadLineAsync());
        }
        // A client that is not a balancer sends nothing before the greeting, and gets it without waiting for a header.
        var greeted = Stopwatch.StartNew();
        await using (var direct = await mail.ConnectRawAsync(MailProtocol.Pop3))
        {
            Assert.StartsWith("+OK", await direct.ReadLineAsync());
            Assert.True(greeted.Elapsed < TimeSpan.FromSeconds(5), $"greeted without waiting for the header timeout ({greeted.Elapsed})");
            await direct.SendAsync("QUIT\r\n");
            Assert.Equal(["+OK Logging out."], await direct.ReadUntilClosedAsync());
        }

        var clients = (await mail.SessionEventsAsync(3)).Select(e => (e.GetProperty("Protocol").GetString(), e.GetProperty("ClientIp").GetString())).ToList();
        Assert.Contains(("Imap", "203.0.113.7"), clients);
        Assert.Contains(("Pop3", "198.51.100.9"), clients);
        Assert.Contains(("Pop3", "127.0.0.1"), clients);
        var dovecotLog = await WaitForLogAsync(mbx1, "pop3-login: Info: Login: user=<carol@contoso.com");
        Assert.Matches(@"imap-login: Info: Login: user=<alice@contoso\.com[^>]*>, method=PLAIN, rip=203\.0\.113\.7, ", dovecotLog);
        Assert.Matches(@"pop3-login: Info: Login: user=<carol@contoso\.com[^>]*>, method=PLAIN, rip=198\.51\.100\.9, ", dovecotLog);
    }

    /// <summary>A PROXY protocol v2 header for a TCP over IPv4 connection from <paramref name="source"/>.</summary>
    private static byte[] ProxyV2(IPAddress source, int sourcePort, int destinationPort)
    {
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        var header = new List<byte>(signature) { 0x21, 0x11, 0x00, 12 };
        header.AddRange(source.GetAddressBytes());
        header.AddRange(IPAddress.Loopback.GetAddressBytes());
        header.AddRange([(byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort]);
        return [.. header];
    }

    private static async Task<string> WaitForLogAsync(DovecotServer server, string text)
    {
        var log = "";
        await HealthTestKit.EventuallyAsync(() => (log = server.ReadLog()).Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(5), $"Dovecot logged '{text}'");
        return log;
    }

    private async Task<MailDeployment> StartAsync(TimeSpan grace, TimeSpan quiet, Dictionary<string, string?>? more = null)
    {
        var settings = HealthTestKit.Settings(grace: grace);
        settings["Gateway:Mail:DrainQuietPeriod"] = quiet.ToString();
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }
        return await StartDeploymentAsync(MailBackendTls.ImplicitTls, settings);
    }

    /// <summary>An implicit-TLS IMAP session logged in by hand, with INBOX selected.</summary>
    private static async Task<RawMailConnection> LoggedInImapAsync(MailDeployment mail, string user)
    {
        var raw = await mail.ConnectRawAsync(MailProtocol.Imap);
        Assert.StartsWith("* OK", await raw.ReadLineAsync());
        await raw.SendAsync($"a1 LOGIN \"{user}\" \"{TestDirectory.PasswordOf(user)}\"\r\n");
        Assert.StartsWith("a1 OK", await ReadTaggedAsync(raw, "a1"));
        await raw.SendAsync("a2 SELECT INBOX\r\n");
        Assert.StartsWith("a2 OK", await ReadTaggedAsync(raw, "a2"));
        return raw;
    }

    private static async Task PopLoginAsync(RawMailConnection raw, string user)
    {
        await raw.SendAsync($"USER {user}\r\n");
        Assert.StartsWith("+OK", await raw.ReadLineAsync());
        await raw.SendAsync($"PASS {TestDirectory.PasswordOf(user)}\r\n");
        Assert.StartsWith("+OK", await raw.ReadLineAsync());
    }

    /// <summary>Reads past untagged lines to the tagged answer.</summary>
    private static async Task<string?> ReadTaggedAsync(RawMailConnection raw, string tag)
    {
        while (await raw.ReadLineAsync() is { } line)
        {
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return line;
            }
        }
        return null;
    }
}
