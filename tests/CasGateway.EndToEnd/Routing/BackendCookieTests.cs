using System.Net;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Routing;

/// <summary>Issue 3: the signed backend cookie skips the locator, and is ignored whenever it cannot be trusted.</summary>
[Collection(Health.LoadSensitive.Name)]
public sealed class BackendCookieTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;
    private Func<CountingLocator> _locator = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await StartGatewayAsync(new Dictionary<string, string?>());
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    private async Task<TestGateway> StartGatewayAsync(Dictionary<string, string?> settings)
    {
        // No locator cache: every call the cookie does not save reaches the store and is counted.
        settings.TryAdd("Gateway:Locator:Cache:TimeToLive", "00:00:00");
        // The health check's own locator probe runs once at start; keep it from running again mid-test.
        settings.TryAdd("Gateway:Health:RefreshInterval", "00:10:00");
        settings.TryAdd("Gateway:KeyRing:Kind", "Directory");
        settings.TryAdd("Gateway:KeyRing:Path", Path.Combine(_topology.Folder, "shared-keys"));
        settings.TryAdd("Gateway:KeyRing:Certificate:Path", _topology.ClientCertificatePath);
        return await TestGateway.StartAsync(_topology, settings, services => _locator = CountingLocator.Install(services));
    }

    [Fact]
    public async Task With_the_cookie_1000_requests_make_at_most_one_locator_call()
    {
        var atStart = _locator().Calls;
        var (first, cookie) = await SendAsync("/owa/", "alice@contoso.com", null);
        Assert.Equal("mbx1.contoso.com", first.Server);
        Assert.NotNull(cookie);
        var calls = _locator().Calls;
        for (var i = 0; i < 1000; i++)
        {
            var (answer, _) = await SendAsync("/owa/", "alice@contoso.com", cookie);
            Assert.Equal("mbx1.contoso.com", answer.Server);
            Assert.Equal("other=kept", answer.Cookie);
        }
        Assert.Equal(calls, _locator().Calls);
        Assert.True(calls - atStart <= 1, $"{calls - atStart} locator calls for 1001 requests");
    }

    [Fact]
    public async Task Tampered_cookie_is_ignored_and_replaced()
    {
        var (_, cookie) = await SendAsync("/owa/", "alice@contoso.com", null);
        var tampered = cookie![..^4] + (cookie[^4] == 'A' ? "B" : "A") + cookie[^3..];
        var calls = _locator().Calls;
        var (answer, replaced) = await SendAsync("/owa/", "alice@contoso.com", tampered);
        Assert.Equal("mbx1.contoso.com", answer.Server);
        Assert.Equal(calls + 1, _locator().Calls);
        Assert.NotNull(replaced);
        await SendAsync("/owa/", "alice@contoso.com", replaced);
        Assert.Equal(calls + 1, _locator().Calls);
    }

    [Fact]
    public async Task Cookie_from_another_key_ring_is_ignored()
    {
        await using var other = await TestTopology.StartAsync();
        await using var foreign = await TestGateway.StartAsync(other);
        using var foreignClient = foreign.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(other.Directory.Mailbox("alice@contoso.com"));
        using var response = await foreignClient.SendAsync(request);
        var foreignCookie = CookieOf(response);
        Assert.NotNull(foreignCookie);

        var calls = _locator().Calls;
        var (answer, _) = await SendAsync("/owa/", "alice@contoso.com", foreignCookie);
        Assert.Equal("mbx1.contoso.com", answer.Server);
        Assert.Equal(calls + 1, _locator().Calls);
    }

    [Fact]
    public async Task Another_node_sharing_the_key_ring_reads_the_cookie()
    {
        var (_, cookie) = await SendAsync("/owa/", "bob@contoso.com", null);
        Func<CountingLocator> firstNode = _locator;
        await using var second = await StartGatewayAsync(new Dictionary<string, string?> { ["Gateway:NodeName"] = "cas-2.contoso.com" });
        using var secondClient = second.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        request.Headers.Add("Cookie", cookie);
        var atStart = _locator().Calls;
        var answer = await (await secondClient.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal(atStart, _locator().Calls);
        Assert.NotSame(firstNode(), _locator());
    }

    [Fact]
    public async Task Expired_entry_is_ignored()
    {
        await using var gateway = await StartGatewayAsync(new Dictionary<string, string?> { ["Gateway:BackendCookie:ServerEntryLifetime"] = "00:00:01" });
        using var client = gateway.CreateClient();
        var atStart = _locator().Calls;
        var (_, cookie) = await SendAsync(client, "/owa/", "alice@contoso.com", null, null);
        await SendAsync(client, "/owa/", "alice@contoso.com", cookie, null);
        var calls = _locator().Calls;
        Assert.Equal(atStart + 1, calls);
        // Until the entry expires the cookie answers; once it has, the next request asks the locator (once).
        var after = await RequestPath.RequestPathTests.PollAsync(async () =>
        {
            await SendAsync(client, "/owa/", "alice@contoso.com", cookie, null);
            return _locator().Calls;
        }, c => c > calls, TimeSpan.FromSeconds(10));
        Assert.Equal(calls + 1, after);
    }

    [Fact]
    public async Task Entry_for_another_anchor_is_not_used_and_both_are_kept()
    {
        var (_, aliceCookie) = await SendAsync("/EWS/Exchange.asmx", "alice@contoso.com", null);
        var calls = _locator().Calls;
        var (bobAnswer, both) = await SendAsync("/EWS/Exchange.asmx", "alice@contoso.com", aliceCookie, anchor: "bob@contoso.com");
        Assert.Equal("mbx2.contoso.com", bobAnswer.Server);
        Assert.Equal(calls + 1, _locator().Calls);

        var (alice, _) = await SendAsync("/EWS/Exchange.asmx", "alice@contoso.com", both);
        var (bob, _) = await SendAsync("/EWS/Exchange.asmx", "alice@contoso.com", both, anchor: "bob@contoso.com");
        Assert.Equal("mbx1.contoso.com", alice.Server);
        Assert.Equal("mbx2.contoso.com", bob.Server);
        Assert.Equal(calls + 1, _locator().Calls);
    }

    [Fact]
    public async Task Backend_saying_the_database_is_mounted_elsewhere_drops_the_entry()
    {
        // Retries off: the client sees the backend's refusal, and the next request goes right.
        await using var gateway = await StartGatewayAsync(new Dictionary<string, string?> { ["Gateway:Backend:Retry:MaxRetries"] = "0" });
        using var client = gateway.CreateClient();
        var (_, cookie) = await SendAsync(client, "/owa/", "alice@contoso.com", null, null);
        await MoveDb01ToMbx2Async(gateway);

        // The cookie still names mbx1: the request goes there, and mbx1 answers that DB01 is mounted on mbx2.
        using var stale = Request("/owa/", "alice@contoso.com", cookie, null);
        using var staleResponse = await client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, staleResponse.StatusCode);
        Assert.False(staleResponse.Headers.Contains("X-DBMountedOnServer"));
        var dropped = CookieOf(staleResponse);

        var (answer, _) = await SendAsync(client, "/owa/", "alice@contoso.com", dropped, null);
        Assert.Equal("mbx2.contoso.com", answer.Server);
    }

    [Fact]
    public async Task Mounted_elsewhere_is_retried_on_the_server_named_and_the_cookie_follows()
    {
        var (_, cookie) = await SendAsync("/owa/", "alice@contoso.com", null);
        await MoveDb01ToMbx2Async(_gateway);
        var refusalsBefore = _topology.Backend("mbx1.contoso.com").Requests;
        var calls = _locator().Calls;

        var (answer, updated) = await SendAsync("/owa/", "alice@contoso.com", cookie);
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal(refusalsBefore + 1, _topology.Backend("mbx1.contoso.com").Requests);
        Assert.Equal(calls, _locator().Calls);
        Assert.NotNull(updated);

        var (next, _) = await SendAsync("/owa/", "alice@contoso.com", updated);
        Assert.Equal("mbx2.contoso.com", next.Server);
        Assert.Equal(refusalsBefore + 1, _topology.Backend("mbx1.contoso.com").Requests);
        Assert.Equal(calls, _locator().Calls);
    }

    private async Task MoveDb01ToMbx2Async(TestGateway gateway)
    {
        _topology.Directory.Activate("DB01", "mbx2.contoso.com");
        _topology.Directory.Save();
        var moved = await RequestPath.RequestPathTests.PollAsync(
            () => Task.FromResult(gateway.GetRequiredService<CasGateway.Location.DirectoryFileSource>().Current.Locate(
                CasGateway.Anchoring.AnchorMailbox.ForSmtp("alice@contoso.com"))!.Server!.Fqdn),
            s => s == "mbx2.contoso.com",
            TimeSpan.FromSeconds(10));
        Assert.Equal("mbx2.contoso.com", moved);
    }

    [Fact]
    public async Task Server_affinity_pins_an_EWS_subscription_group_past_the_server_entry_lifetime()
    {
        await using var gateway = await StartGatewayAsync(new Dictionary<string, string?> { ["Gateway:BackendCookie:ServerEntryLifetime"] = "00:00:01" });
        using var client = gateway.CreateClient();
        var (_, cookie) = await SendAsync(client, "/EWS/Exchange.asmx", "alice@contoso.com", null, "bob@contoso.com", affinity: true);
        var calls = _locator().Calls;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var (answer, renewed) = await SendAsync(client, "/EWS/Exchange.asmx", "alice@contoso.com", cookie, "bob@contoso.com", affinity: true);
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal(calls, _locator().Calls);
        Assert.NotNull(renewed);
    }

    [Fact]
    public async Task Cookie_is_secure_http_only_and_scoped_to_the_family()
    {
        using var request = Request("/EWS/Exchange.asmx", "alice@contoso.com", null, null);
        using var response = await _client.SendAsync(request);
        var header = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("X-BackEndCookie=", header, StringComparison.Ordinal);
        Assert.Contains("path=/EWS", header, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", header, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", header, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Concurrent_first_requests_for_one_mailbox_make_one_locator_call()
    {
        await using var gateway = await StartGatewayAsync(new Dictionary<string, string?> { ["Gateway:Locator:Cache:TimeToLive"] = "00:05:00" });
        _locator().Delay = TimeSpan.FromMilliseconds(300);
        using var client = gateway.CreateClient();
        var atStart = _locator().Calls;
        var requests = Enumerable.Range(0, 100).Select(async _ => (await SendAsync(client, "/owa/", "carol@contoso.com", null, null)).Answer.Server);
        var servers = await Task.WhenAll(requests);
        Assert.All(servers, s => Assert.Equal("mbx1.contoso.com", s));
        Assert.Equal(atStart + 1, _locator().Calls);
    }

    private Task<(CasGateway.DemoBackend.DemoAnswer Answer, string? Cookie)> SendAsync(string path, string user, string? cookie, string? anchor = null)
        => SendAsync(_client, path, user, cookie, anchor);

    private async Task<(CasGateway.DemoBackend.DemoAnswer Answer, string? Cookie)> SendAsync(
        HttpClient client, string path, string user, string? cookie, string? anchor, bool affinity = false)
    {
        using var request = Request(path, user, cookie, anchor);
        if (affinity)
        {
            request.Headers.Add("X-PreferServerAffinity", "true");
        }
        using var response = await client.SendAsync(request);
        return (await response.ReadAnswerAsync(), CookieOf(response));
    }

    private HttpRequestMessage Request(string path, string user, string? cookie, string? anchor)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie + "; other=kept");
        }
        if (anchor is not null)
        {
            request.Headers.Add("X-AnchorMailbox", anchor);
        }
        return request;
    }

    /// <summary>The <c>name=value</c> of the backend cookie the response set, if it set one.</summary>
    private static string? CookieOf(HttpResponseMessage response)
        => response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal) && v.Length > "X-BackEndCookie=".Length)
            : null;
}
