using System.Diagnostics;
using CasGateway.Mail;
using CasGateway.TestSupport;
using MailKit.Security;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// Issue 16: IMAP logins find the mailbox through the same cache as HTTP (the cache is the locator every caller
/// gets): one store call for many sessions, the last known location while the store fails, a bounded wait for a
/// slow store and a breaker that stops calling a failing one.
/// </summary>
public sealed class MailLocatorTests(DovecotPair dovecot, ITestOutputHelper output) : MailDeploymentsPerTest(dovecot, output)
{
    private const string Unavailable = "The mailbox directory is unavailable; try again later.";

    [Fact]
    public async Task Many_sessions_of_one_user_make_one_store_call()
    {
        var (mail, store) = await StartAsync();
        await LoginAndLogoutAsync(mail, "alice@contoso.com");
        var afterFirst = store.Calls;
        for (var i = 0; i < 3; i++)
        {
            await LoginAndLogoutAsync(mail, "alice@contoso.com");
        }
        Assert.Equal(afterFirst, store.Calls);

        // Concurrent first logins of another user share one store call.
        store.Delay = TimeSpan.FromMilliseconds(300);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => LoginAndLogoutAsync(mail, "bob@contoso.com")));
        Assert.Equal(afterFirst + 1, store.Calls);
    }

    [Fact]
    public async Task While_the_store_fails_a_known_user_gets_the_last_known_location_and_a_new_one_a_clear_temporary_failure()
    {
        // Time-to-live 0: every login asks the store, so the second one meets the failure.
        var (mail, store) = await StartAsync(new() { ["Gateway:Locator:Cache:TimeToLive"] = "00:00:00" });
        await LoginAndLogoutAsync(mail, "alice@contoso.com");
        store.Unavailable = true;
        var calls = store.Calls;

        await LoginAndLogoutAsync(mail, "alice@contoso.com");
        Assert.Equal(calls + 1, store.Calls);

        using var client = await ConnectOneAttemptAsync(mail);
        var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("bob@contoso.com", TestDirectory.PasswordOf("bob@contoso.com")));
        Assert.Equal(Unavailable, error.Message);
        var sessions = await mail.SessionEventsAsync(2);
        Assert.Equal(["Proxied", "Proxied"], sessions.Take(2).Select(s => s.GetProperty("Outcome").GetString()));
        var stale = Assert.Single(mail.ReadGatewayLogText().Split('\n'), l => l.Contains("serving the last known location of {Anchor}", StringComparison.Ordinal));
        Assert.Contains("\"Anchor\":\"alice@contoso.com\"", stale, StringComparison.Ordinal);
        await client.DisconnectAsync(quit: true);
        var failed = (await mail.SessionEventsAsync(3)).Last();
        Assert.Equal("LocatorUnavailable", failed.GetProperty("Outcome").GetString());
    }

    [Fact]
    public async Task A_slow_store_fails_the_login_within_the_timeout_and_the_breaker_then_stops_calling_it()
    {
        var (mail, store) = await StartAsync();
        store.Delay = TimeSpan.FromSeconds(20);
        var calls = store.Calls;

        foreach (var user in new[] { "alice@contoso.com", "bob@contoso.com" })
        {
            var waited = Stopwatch.StartNew();
            using var client = await ConnectOneAttemptAsync(mail);
            var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(user, TestDirectory.PasswordOf(user)));
            Assert.Equal(Unavailable, error.Message);
            // 0.5 s timeout and the 0.2 s failed-login pause, with a generous margin for a loaded machine; far below the store's 20 s.
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"the login failed after {waited.Elapsed}");
        }
        Assert.Equal(calls + 2, store.Calls);

        // Two failures out of two opened the breaker: the next login fails at once, without calling the store.
        using (var client = await ConnectOneAttemptAsync(mail))
        {
            var error = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("carol@contoso.com", TestDirectory.PasswordOf("carol@contoso.com")));
            Assert.Equal(Unavailable, error.Message);
        }
        Assert.Equal(calls + 2, store.Calls);
        var reasons = (await mail.SessionEventsAsync(3)).Select(s => s.GetProperty("Reason").GetString() ?? "").ToList();
        Assert.True(reasons.Count == 3, string.Join(" | ", reasons));
        Output.WriteLine(string.Join(" | ", reasons));
        Assert.Contains("did not answer in time", reasons[0], StringComparison.Ordinal);
        Assert.Contains("did not answer in time", reasons[1], StringComparison.Ordinal);
        Assert.Contains("circuit open", reasons[2], StringComparison.Ordinal);
    }

    private async Task<(MailDeployment Mail, CountingLocator Store)> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Locator:Resilience:MaxRetries"] = "0",
            ["Gateway:Locator:Resilience:Timeout"] = "00:00:00.500",
            ["Gateway:Locator:Resilience:BreakerMinimumThroughput"] = "2",
            ["Gateway:Locator:Resilience:BreakerFailureRatio"] = "0.5",
            ["Gateway:Locator:Resilience:BreakerSamplingDuration"] = "00:01:00",
            ["Gateway:Locator:Resilience:BreakerBreakDuration"] = "00:01:00",
            // The readiness check probes the store too; keep it out of the counts.
            ["Gateway:Health:RefreshInterval"] = "00:10:00",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }
        Func<CountingLocator> store = null!;
        var mail = await StartDeploymentAsync(MailBackendTls.ImplicitTls, settings, services => store = CountingLocator.Install(services));
        return (mail, store());
    }

    /// <summary>A client that makes one login attempt (LOGIN), where MailKit would try each SASL mechanism in turn.</summary>
    private static async Task<MailKit.Net.Imap.ImapClient> ConnectOneAttemptAsync(MailDeployment mail)
    {
        var client = await mail.ConnectImapAsync();
        client.AuthenticationMechanisms.Clear();
        return client;
    }

    private static async Task LoginAndLogoutAsync(MailDeployment mail, string user)
    {
        using var client = await mail.LoginImapAsync(user);
        await client.DisconnectAsync(quit: true);
    }
}
