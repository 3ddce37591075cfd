using System.Diagnostics;
using System.Net;
using CasGateway.Authentication;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Authentication;

/// <summary>
/// Issue 15 items 3 and 4 over HTTP Basic, against the real gateway over TLS: back-off then lockout (429 with
/// Retry-After, the right password refused too), other users and sources unaffected, the lockout's end; unknown
/// users answered as slowly as known ones; a changed hash in the directory stops the old password at once.
/// </summary>
public sealed class BasicFailedLoginTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly IPAddress Guesser = IPAddress.Parse("127.0.0.11");
    private static readonly IPAddress Elsewhere = IPAddress.Parse("127.0.0.12");
    private const int Rounds = 11;
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        // Mailboxes for the timing test, hashed at half the production cost so that hashing, not the noise of a busy
        // machine, dominates each answer; theirs is the directory's usual iteration count, which the dummy hash copies.
        var costlyHash = PasswordHash.Create("shared-password", PasswordHash.DefaultIterations / 2);
        for (var i = 0; i < Rounds; i++)
        {
            var known = _topology.Directory.AddMailbox($"known{i}@contoso.com", "DB01");
            _topology.Directory.Mailboxes[^1] = known with { PasswordHash = costlyHash };
            _topology.Directory.AddMailbox($"nopassword{i}@contoso.com", "DB01", withPassword: false);
        }
        _topology.Directory.Save();
        _gateway = await TestGateway.StartAsync(_topology, LoginSources.SmallLimits());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _topology.DisposeAsync();
    }

    [Fact]
    public async Task Wrong_passwords_bring_back_off_then_a_lockout_the_right_password_does_not_bypass_until_it_ends()
    {
        using var guesser = Client(Guesser);
        Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.BasicGetAsync("alice@contoso.com", "guess-1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.BasicGetAsync("alice@contoso.com", "guess-2")).StatusCode);

        // Back-off: the next attempt at once is refused unchecked, with Retry-After and no prompt.
        using (var backoff = await guesser.BasicGetAsync("alice@contoso.com", "guess-3"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, backoff.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), backoff.Headers.RetryAfter?.Delta);
            Assert.Empty(backoff.Headers.WwwAuthenticate);
        }
        await LoginSources.PollAsync(() => guesser.BasicGetAsync("alice@contoso.com", "guess-3"), r => r.StatusCode != HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(5), "back-off ends");
        var locked = await LoginSources.PollAsync(() => guesser.BasicGetAsync("alice@contoso.com", "guess-4"), r => r.StatusCode != HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(5), "back-off ends");
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode);
        var lockedAt = Stopwatch.StartNew();

        // Locked: the right password is refused too, from any source, with the lockout's Retry-After.
        using (var refused = await guesser.BasicGetAsync("alice@contoso.com", "pw-alice"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        }
        using var elsewhere = Client(Elsewhere);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await elsewhere.BasicGetAsync("alice@contoso.com", "pw-alice")).StatusCode);

        // Another user, from another source and from the guesser's own address, is unaffected.
        Assert.Equal(HttpStatusCode.OK, (await elsewhere.BasicGetAsync("bob@contoso.com", "pw-bob")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await guesser.BasicGetAsync("carol@contoso.com", "pw-carol")).StatusCode);

        // The lockout ends by itself.
        var back = await LoginSources.PollAsync(() => elsewhere.BasicGetAsync("alice@contoso.com", "pw-alice"), r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "lockout ends");
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        Assert.True(lockedAt.Elapsed >= TimeSpan.FromSeconds(4), $"the lockout lasted {lockedAt.Elapsed}");

        using var scraper = _gateway.CreateClient();
        var metrics = PrometheusText.Parse(await scraper.GetStringAsync("/metrics"));
        Assert.True(metrics.Sum("casgateway_login_refusals_total", ("protocol", "Basic"), ("reason", "lockout")) >= 2, metrics.Text);
        Assert.True(metrics.Sum("casgateway_login_refusals_total", ("protocol", "Basic"), ("reason", "backoff")) >= 1, metrics.Text);
        Assert.Equal(1, metrics.Sum("casgateway_login_lockouts_total", ("scope", "account")));
    }

    [Fact]
    public async Task Unknown_users_and_mailboxes_without_a_password_take_as_long_as_a_wrong_password()
    {
        // Each attempt names another account, so no back-off interferes with the measurement.
        using var client = Client(IPAddress.Parse("127.0.0.13"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.BasicGetAsync("warm-up@contoso.com", "x")).StatusCode);
        var known = new List<double>();
        var unknown = new List<double>();
        var noPassword = new List<double>();
        for (var i = 0; i < Rounds; i++)
        {
            known.Add(await TimeAsync(client, $"known{i}@contoso.com", "wrong", i));
            unknown.Add(await TimeAsync(client, $"nobody{i}@contoso.com", "wrong", i));
            noPassword.Add(await TimeAsync(client, $"nopassword{i}@contoso.com", "wrong", i));
        }
        var (k, u, n) = (Median(known), Median(unknown), Median(noPassword));
        output.WriteLine($"median ms over {Rounds}: known user, wrong password {k:F1}; unknown user {u:F1}; mailbox without password {n:F1}");
        Assert.InRange(u / k, 0.5, 2.0);
        Assert.InRange(n / k, 0.5, 2.0);
    }

    [Fact]
    public async Task A_changed_or_removed_hash_in_the_directory_stops_the_old_password_on_the_next_request()
    {
        using var client = Client(IPAddress.Parse("127.0.0.14"));
        Assert.Equal(HttpStatusCode.OK, (await client.BasicGetAsync("carol@contoso.com", "pw-carol")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.BasicGetAsync("carol@contoso.com", "pw-carol")).StatusCode);

        var directory = _topology.Directory;
        var carol = directory.Mailbox("carol@contoso.com");
        directory.Mailboxes[directory.Mailboxes.IndexOf(carol)] = carol with { PasswordHash = TestDirectory.HashFor("new-carol") };
        directory.Save();
        var source = _gateway.GetRequiredService<CasGateway.Location.DirectoryFileSource>();
        await LoginSources.PollAsync(
            () => Task.FromResult(source.Current.FindByAddress("carol@contoso.com") is { } m && source.Current.PasswordHashOf(m) == TestDirectory.HashFor("new-carol")),
            reloaded => reloaded, TimeSpan.FromSeconds(10), "directory reload");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.BasicGetAsync("carol@contoso.com", "pw-carol")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.BasicGetAsync("carol@contoso.com", "new-carol")).StatusCode);

        directory.Mailboxes[directory.Mailboxes.IndexOf(directory.Mailbox("carol@contoso.com"))] = carol with { PasswordHash = null };
        directory.Save();
        await LoginSources.PollAsync(
            () => Task.FromResult(source.Current.FindByAddress("carol@contoso.com") is { } m && source.Current.PasswordHashOf(m) is null),
            reloaded => reloaded, TimeSpan.FromSeconds(10), "directory reload");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.BasicGetAsync("carol@contoso.com", "new-carol")).StatusCode);
    }

    private HttpClient Client(IPAddress from) => LoginSources.HttpClientFrom(from, _gateway.BaseAddress, _gateway.ServerCertificate);

    private static async Task<double> TimeAsync(HttpClient client, string user, string password, int round)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.BasicGetAsync(user, password);
        var elapsed = watch.Elapsed.TotalMilliseconds;
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"round {round}, {user}: {response.StatusCode}");
        return elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
