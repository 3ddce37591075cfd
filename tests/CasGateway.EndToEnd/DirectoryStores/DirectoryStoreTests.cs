using System.Net;
using System.Text.Json;
using CasGateway.Authentication;
using CasGateway.Location;
using CasGateway.Routing;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>
/// One store behind <c>Gateway:Locator:Kind</c>, started once per test class: the topology's mailbox servers
/// (mbx1 holds DB01: alice, carol; mbx2 holds DB02: bob, frank — frank has no password) and the directory server
/// holding the same directory. For calls (issue 20): alice has extension 4501, SIP address alice@contoso.com and
/// +14255554501, bob extension 4502; mbx1 and mbx2 take calls on :5062 and :5063.
/// </summary>
public abstract class DirectoryStoreFixture : IAsyncLifetime
{
    public TestTopology Topology { get; private set; } = null!;

    /// <summary>How <c>/readyz</c> and the protocol log name the store (its start).</summary>
    public abstract string StoreName { get; }

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        Topology.Directory.AddMailbox("frank@contoso.com", "DB02", withPassword: false);
        Topology.Directory.Voice["alice@contoso.com"] = ("4501", "alice@contoso.com", "+14255554501");
        Topology.Directory.Voice["bob@contoso.com"] = ("4502", null, null);
        Topology.Directory.UmEndpoints["mbx1.contoso.com"] = "mbx1.contoso.com:5062";
        Topology.Directory.UmEndpoints["mbx2.contoso.com"] = "mbx2.contoso.com:5063";
        Topology.Directory.Save();
        await StartStoreAsync();
    }

    public async Task DisposeAsync()
    {
        await StopStoreAsync();
        await Topology.DisposeAsync();
    }

    /// <summary><c>Gateway:Locator</c> settings that select this store.</summary>
    public abstract Dictionary<string, string?> StoreSettings();

    /// <summary>Makes <paramref name="server"/> hold the active copy of <paramref name="database"/> in the store (and for the backends).</summary>
    public abstract Task MoveDatabaseAsync(string database, string server);

    /// <summary>The store stops answering.</summary>
    public abstract Task TakeDownAsync();

    /// <summary>The store answers again.</summary>
    public abstract Task BringBackAsync();

    protected abstract Task StartStoreAsync();

    protected abstract Task StopStoreAsync();
}

/// <summary>
/// Issue 18: the behaviour every store owes the gateway — hints, aliases and GUIDs resolve; passwords are checked by
/// the store; a database move is followed; an outage serves stale locations, then 503 with Retry-After; values
/// that try to widen a query find nothing.
/// </summary>
public abstract class DirectoryStoreTests<TFixture>(TFixture store) : IClassFixture<TFixture>
    where TFixture : DirectoryStoreFixture
{
    protected TFixture Store { get; } = store;

    protected TestTopology Topology => Store.Topology;

    [Fact]
    public async Task Each_hint_resolves_to_the_server_holding_the_active_copy()
    {
        await using var gateway = await StartGatewayAsync();
        using var client = gateway.CreateClient();
        foreach (var (user, server) in new[] { ("alice@contoso.com", "mbx1.contoso.com"), ("carol@contoso.com", "mbx1.contoso.com"), ("bob@contoso.com", "mbx2.contoso.com") })
        {
            var answer = await SendAsync(client, "/owa/", TestGateway.Basic(Topology.Directory.Mailbox(user)));
            Assert.Equal(server, answer.Server);
            Assert.Equal(user, answer.Mailbox);
            Assert.Equal(user, answer.IdentityUser);
        }

        // An alias signs in and routes as its mailbox; hints by address, alias and mailbox GUID name other mailboxes.
        var alias = await SendAsync(client, "/EWS/Exchange.asmx", TestGateway.Basic("alice.smith@contoso.com", "pw-alice"));
        Assert.Equal(("mbx1.contoso.com", "alice@contoso.com"), (alias.Server, alias.Mailbox));
        var bob = Topology.Directory.Mailbox("bob@contoso.com");
        foreach (var hint in (string[])["bob@contoso.com", "BOB@Contoso.com", $"{bob.Guid}@contoso.com"])
        {
            var hinted = await SendAsync(client, "/EWS/Exchange.asmx", TestGateway.Basic(Topology.Directory.Mailbox("alice@contoso.com")), hint);
            Assert.Equal(("mbx2.contoso.com", "bob@contoso.com", "alice@contoso.com"), (hinted.Server, hinted.Mailbox, hinted.IdentityUser));
        }
        var aliasHint = await SendAsync(client, "/EWS/Exchange.asmx", TestGateway.Basic(bob), "alice.smith@contoso.com");
        Assert.Equal(("mbx1.contoso.com", "alice@contoso.com"), (aliasHint.Server, aliasHint.Mailbox));

        var explained = await ExplainAsync(gateway, "alice.smith@contoso.com");
        Assert.Equal(("alice@contoso.com", "DB01", "mbx1.contoso.com", "15.2.1544.4", "Site1"),
            (explained.Mailbox, explained.Database, explained.ActiveServer, explained.ServerVersion, explained.ServerSite));
    }

    [Fact]
    public async Task Basic_passwords_are_checked_by_the_store()
    {
        await using var gateway = await StartGatewayAsync();
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "alice@contoso.com", "pw-alice"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "alice@contoso.com", "pw-bob"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "alice@contoso.com", ""));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "frank@contoso.com", "pw-frank"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "frank@contoso.com", ""));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "nobody@contoso.com", "pw-nobody"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(client, "bob@contoso.com", "pw-bob"));
    }

    [Fact]
    public async Task Values_that_try_to_widen_the_query_find_nothing()
    {
        await using var gateway = await StartGatewayAsync();
        var validator = gateway.Services.GetRequiredKeyedService<ICredentialValidator>(LocatorKinds.CredentialValidatorKey);
        var locator = gateway.Services.GetRequiredService<IMailboxLocator>();
        Assert.Equal(CredentialStatus.Valid, (await validator.ValidateAsync("alice@contoso.com", "pw-alice", CancellationToken.None)).Status);
        string[] attacks =
        [
            "*", "*@contoso.com", "alice*", "a*@contoso.com", "*)(mail=*", "alice@contoso.com)(|(mail=*",
            "*)(|(objectClass=*", "alice@contoso.com\0", "alice@contoso.com\0)(mail=*", "\\2a", "alice@contoso.com)", "' OR '1'='1",
            "alice@contoso.com' --", "%@contoso.com", "_lice@contoso.com",
        ];
        foreach (var attack in attacks)
        {
            Assert.Equal(CredentialStatus.Invalid, (await validator.ValidateAsync(attack, "pw-alice", CancellationToken.None)).Status);
            Assert.Null(await locator.LocateAsync(Anchoring.AnchorMailbox.ForSmtp(attack), CancellationToken.None));
        }

        using var client = gateway.CreateClient();
        foreach (var attack in (string[])["*", "*)(mail=*", "*@contoso.com", "alice@contoso.com)(|(mail=*"])
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, attack, "pw-alice"));
        }
        foreach (var hint in (string[])["*@contoso.com", "b*@contoso.com", "%@contoso.com"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
            request.Headers.Authorization = TestGateway.Basic(Topology.Directory.Mailbox("alice@contoso.com"));
            request.Headers.TryAddWithoutValidation("X-AnchorMailbox", hint);
            using var response = await client.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task A_database_moved_in_the_store_is_followed()
    {
        await using var gateway = await StartGatewayAsync();
        using var client = gateway.CreateClient();
        var bob = Topology.Directory.Mailbox("bob@contoso.com");
        Assert.Equal("mbx2.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(bob))).Server);
        await Store.MoveDatabaseAsync("DB02", "mbx1.contoso.com");
        try
        {
            // No backend involved: the location comes from the store once the cached one expires.
            var moved = await RequestPath.RequestPathTests.PollAsync(
                async () => (await ExplainAsync(gateway, "bob@contoso.com")).ActiveServer, s => s == "mbx1.contoso.com", TimeSpan.FromSeconds(15));
            Assert.Equal("mbx1.contoso.com", moved);
            Assert.Equal("mbx1.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(bob))).Server);
        }
        finally
        {
            await Store.MoveDatabaseAsync("DB02", "mbx2.contoso.com");
        }
    }

    [Fact]
    public async Task An_outage_serves_known_locations_then_503_with_retry_after_and_recovers()
    {
        await using var gateway = await StartGatewayAsync(new()
        {
            ["Gateway:Locator:Cache:TimeToLive"] = "00:00:00.300",
            ["Gateway:Locator:Resilience:StalePeriod"] = "00:00:03",
        });
        using var client = gateway.CreateClient();
        var alice = Topology.Directory.Mailbox("alice@contoso.com");
        Assert.Equal("mbx1.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(alice))).Server);
        Assert.StartsWith(Store.StoreName, await ReadyStoreAsync(client));

        await Store.TakeDownAsync();
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(400));
            // Past its time-to-live, alice's location is still served (her password check is cached too).
            Assert.Equal("mbx1.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(alice))).Server);
            using var cold = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
            cold.Headers.Authorization = TestGateway.Basic(alice);
            cold.Headers.Add("X-AnchorMailbox", "bob@contoso.com");
            using var refused = await client.SendAsync(cold);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);

            var stale = await RequestPath.RequestPathTests.PollAsync(() => StatusAsync(client, alice.Address, alice.Password), s => s == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stale);
        }
        finally
        {
            await Store.BringBackAsync();
        }
        var recovered = await RequestPath.RequestPathTests.PollAsync(() => StatusAsync(client, "bob@contoso.com", "pw-bob"), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, recovered);
    }

    [Fact]
    public async Task Mail_logins_are_checked_by_the_store_and_a_store_outage_is_a_temporary_failure()
    {
        await using var gateway = await StartGatewayAsync(new()
        {
            ["Gateway:Mail:Imap:ImplicitTlsPort"] = "0",
            ["Gateway:Mail:Pop:ImplicitTlsPort"] = "0",
            ["Gateway:Mail:FailedAttemptDelay"] = "00:00:00",
            ["Gateway:Mail:Backend:MasterUser"] = "gateway",
            ["Gateway:Mail:Backend:MasterPassword"] = "master-secret",
        });
        var listeners = gateway.GetRequiredService<CasGateway.Mail.MailListeners>();
        await using (var imap = await CasGateway.EndToEnd.Mail.RawMailConnection.OpenAsync(listeners.EndPointOf(CasGateway.Mail.Core.MailProtocol.Imap, true), gateway.ServerCertificate))
        {
            Assert.StartsWith("* OK", await imap.ReadLineAsync());
            await imap.SendAsync("a LOGIN bob@contoso.com pw-alice\r\n");
            Assert.StartsWith("a NO [AUTHENTICATIONFAILED]", await imap.ReadLineAsync());
            // The store accepts the password; the topology's servers have no IMAP endpoint, so nothing is proxied.
            await imap.SendAsync("b LOGIN bob@contoso.com pw-bob\r\n");
            Assert.Equal("b NO [AUTHORIZATIONFAILED] This protocol is not available for this mailbox.", await imap.ReadLineAsync());
        }

        await Store.TakeDownAsync();
        try
        {
            await using (var imap = await CasGateway.EndToEnd.Mail.RawMailConnection.OpenAsync(listeners.EndPointOf(CasGateway.Mail.Core.MailProtocol.Imap, true), gateway.ServerCertificate))
            {
                Assert.StartsWith("* OK", await imap.ReadLineAsync());
                await imap.SendAsync("a LOGIN carol@contoso.com pw-carol\r\n");
                Assert.Equal("a NO [UNAVAILABLE] The mailbox directory is unavailable; try again later.", await imap.ReadLineAsync());
            }
            await using var pop = await CasGateway.EndToEnd.Mail.RawMailConnection.OpenAsync(listeners.EndPointOf(CasGateway.Mail.Core.MailProtocol.Pop3, true), gateway.ServerCertificate);
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("USER carol@contoso.com\r\n");
            Assert.StartsWith("+OK", await pop.ReadLineAsync());
            await pop.SendAsync("PASS pw-carol\r\n");
            Assert.Equal("-ERR [SYS/TEMP] The mailbox directory is unavailable; try again later.", await pop.ReadLineAsync());
        }
        finally
        {
            await Store.BringBackAsync();
        }
    }

    [Fact]
    public async Task A_bearer_token_reaches_the_mailbox_whose_object_id_the_store_holds()
    {
        await using var issuer = await OidcServer.StartAsync();
        var settings = issuer.GatewaySettings();
        // As an admin running this store has it: no directory file at all, so only the store can name the mailbox.
        settings["Gateway:Locator:File:Path"] = "";
        settings["Gateway:Mail:Imap:ImplicitTlsPort"] = "0";
        settings["Gateway:Mail:FailedAttemptDelay"] = "00:00:00";
        settings["Gateway:Mail:Backend:MasterUser"] = "gateway";
        settings["Gateway:Mail:Backend:MasterPassword"] = "master-secret";
        await using var gateway = await StartGatewayAsync(settings);
        var imapEndPoint = gateway.GetRequiredService<CasGateway.Mail.MailListeners>().EndPointOf(CasGateway.Mail.Core.MailProtocol.Imap, true);
        using var client = gateway.CreateClient();
        // The object id decides, whatever the user name says: alice's token names bob, bob's names alice.
        foreach (var (owner, named, server) in new[] { ("alice@contoso.com", "bob@contoso.com", "mbx1.contoso.com"), ("bob@contoso.com", "alice@contoso.com", "mbx2.contoso.com") })
        {
            using var response = await SendBearerAsync(client, issuer.IssueToken(named, objectId: TestDirectory.ObjectIdOf(owner)));
            var answer = await response.ReadAnswerAsync();
            Assert.Equal((server, owner), (answer.Server, answer.Mailbox));
            Assert.False(answer.IdentityActsOnOtherMailbox);
        }

        // An object id no mailbox holds, or one from another tenant: authenticated perhaps, but no mailbox and no backend.
        var before = Topology.Backend("mbx1.contoso.com").Requests;
        using (var unknown = await SendBearerAsync(client, issuer.IssueToken("alice@contoso.com", objectId: Guid.NewGuid())))
        {
            Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);
        }
        using (var foreign = await SendBearerAsync(client, issuer.IssueToken("alice@contoso.com", tenantId: Guid.NewGuid())))
        {
            Assert.True(foreign.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"got {(int)foreign.StatusCode}");
        }
        Assert.Equal(before, Topology.Backend("mbx1.contoso.com").Requests);
        // IMAP XOAUTH2 maps the token through the same store: signed in as carol (the topology's servers have no IMAP endpoint).
        Assert.Equal("a NO [AUTHORIZATIONFAILED] This protocol is not available for this mailbox.",
            await ImapXOAuth2Async(gateway, imapEndPoint, "carol@contoso.com", issuer.IssueToken("carol@contoso.com")));

        // The store down: a valid token is a temporary failure (503, Retry-After), not a sign-in failure or a crash.
        await Store.TakeDownAsync();
        try
        {
            var token = issuer.IssueToken("carol@contoso.com");
            var status = await RequestPath.RequestPathTests.PollAsync(async () =>
            {
                using var response = await SendBearerAsync(client, token);
                return (response.StatusCode, response.Headers.RetryAfter is not null, response.Headers.WwwAuthenticate.Count);
            }, s => s.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15));
            Assert.Equal((HttpStatusCode.ServiceUnavailable, true, 0), status);
            Assert.Equal("a NO [UNAVAILABLE] The mailbox directory is unavailable; try again later.",
                await ImapXOAuth2Async(gateway, imapEndPoint, "carol@contoso.com", token));
        }
        finally
        {
            await Store.BringBackAsync();
        }
        var recovered = await RequestPath.RequestPathTests.PollAsync(async () =>
        {
            using var response = await SendBearerAsync(client, issuer.IssueToken("carol@contoso.com"));
            return response.StatusCode == HttpStatusCode.OK ? (await response.ReadAnswerAsync()).Mailbox : response.StatusCode.ToString();
        }, m => m == "carol@contoso.com", TimeSpan.FromSeconds(20));
        Assert.Equal("carol@contoso.com", recovered);
    }

    /// <summary>One IMAP <c>AUTHENTICATE XOAUTH2</c> with the token as initial response; the tagged answer.</summary>
    private static async Task<string> ImapXOAuth2Async(TestGateway gateway, System.Net.IPEndPoint endPoint, string user, string token)
    {
        await using var imap = await CasGateway.EndToEnd.Mail.RawMailConnection.OpenAsync(endPoint, gateway.ServerCertificate);
        Assert.StartsWith("* OK", await imap.ReadLineAsync());
        var response = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"user={user}\u0001auth=Bearer {token}\u0001\u0001"));
        await imap.SendAsync($"a AUTHENTICATE XOAUTH2 {response}\r\n");
        return await imap.ReadLineAsync() ?? "(connection closed)";
    }

    private static Task<HttpResponseMessage> SendBearerAsync(HttpClient client, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }

    /// <summary>The gateway in front of the topology, with this store and short cache lifetimes.</summary>
    protected Task<TestGateway> StartGatewayAsync(Dictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Locator:Cache:TimeToLive"] = "00:00:01",
            ["Gateway:Locator:Cache:NegativeTimeToLive"] = "00:00:01",
            ["Gateway:Locator:Resilience:RetryBaseDelay"] = "00:00:00.010",
            ["Gateway:Locator:Resilience:BreakerBreakDuration"] = "00:00:00.500",
            ["Gateway:Health:RefreshInterval"] = "00:00:01",
        };
        foreach (var (key, value) in Store.StoreSettings().Concat(overrides ?? new Dictionary<string, string?>()))
        {
            settings[key] = value;
        }
        return TestGateway.StartAsync(Topology, settings);
    }

    protected static async Task<DemoBackend.DemoAnswer> SendAsync(HttpClient client, string path, System.Net.Http.Headers.AuthenticationHeaderValue credentials, string? anchor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = credentials;
        if (anchor is not null)
        {
            request.Headers.Add("X-AnchorMailbox", anchor);
        }
        using var response = await client.SendAsync(request);
        return await response.ReadAnswerAsync();
    }

    protected static async Task<HttpStatusCode> StatusAsync(HttpClient client, string user, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(user, password);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    protected static Task<ExplainAnswer> ExplainAsync(TestGateway gateway, string user)
        => gateway.GetRequiredService<RouteExplainer>().ExplainAsync(
            new ExplainRequest("GET", new Uri(gateway.BaseAddress, "/owa/").ToString(), null, user), CancellationToken.None);

    /// <summary>The store <c>/readyz</c> names, once the dependency checks have run.</summary>
    protected static async Task<string> ReadyStoreAsync(HttpClient client)
    {
        var store = await RequestPath.RequestPathTests.PollAsync(async () =>
        {
            using var response = await client.GetAsync("/readyz");
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return body.RootElement.TryGetProperty("dependencies", out var d) && d.ValueKind == JsonValueKind.Object
                ? d.GetProperty("checks").GetProperty("locator").GetProperty("data").GetProperty("store").GetString() ?? ""
                : "";
        }, s => s.Length > 0, TimeSpan.FromSeconds(10));
        Assert.NotEqual("", store);
        return store;
    }
}
