using System.Net;
using System.Net.Http.Headers;
using CasGateway.BackendAuth;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>Issue 2: the whole request path over real sockets and TLS, Basic authentication.</summary>
public sealed class RequestPathTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;
    private readonly CapturingLogSink _logs = new();

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology, services: services => services.AddSingleton<Serilog.Core.ILogEventSink>(_logs));
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    [InlineData("carol@contoso.com", "mbx1.contoso.com")]
    public async Task Basic_user_reaches_own_mailbox_server_with_signed_identity(string user, string server)
    {
        var mailbox = _topology.Directory.Mailbox(user);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/?x=1");
        request.Headers.Authorization = TestGateway.Basic(mailbox);
        using var response = await _client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();

        Assert.Equal(server, answer.Server);
        Assert.Equal(user, answer.Mailbox);
        Assert.Equal("/owa/", answer.Path);
        Assert.Equal("?x=1", answer.Query);
        Assert.Equal(user, answer.IdentityUser);
        Assert.Equal("Basic", answer.IdentityAuthenticationMethod);
        Assert.Equal("127.0.0.1", answer.IdentityClientIp);
        Assert.Equal("127.0.0.1", answer.ForwardedFor);
        Assert.Equal("", answer.Authorization);
    }

    [Fact]
    public async Task Alias_logs_in_and_routes_like_the_primary_address()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic("alice.smith@contoso.com", "pw-alice");
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal("mbx1.contoso.com", answer.Server);
        Assert.Equal("alice@contoso.com", answer.Mailbox);
    }

    [Fact]
    public async Task Anchor_header_routes_to_the_named_mailbox_with_the_callers_identity()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.Add("X-AnchorMailbox", "bob@contoso.com");
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal("bob@contoso.com", answer.Mailbox);
        Assert.Equal("alice@contoso.com", answer.IdentityUser);
    }

    [Fact]
    public async Task Anchor_header_by_mailbox_guid_resolves_the_mailbox()
    {
        var bob = _topology.Directory.Mailbox("bob@contoso.com");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.Add("X-AnchorMailbox", $"{bob.Guid}@contoso.com");
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal("bob@contoso.com", answer.Mailbox);
    }

    [Fact]
    public async Task Client_forged_identity_and_internal_headers_never_reach_the_backend()
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        // Even a token signed with the gateway's own key, for the right server, is stripped when a client sends it.
        var forged = _topology.IdentitySigner.Sign(new GatewayIdentity("bob@contoso.com", "bob@contoso.com", Guid.Empty, "Basic", "10.0.0.1",
            "evil", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5), "mbx1.contoso.com", "bob@contoso.com"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(alice);
        request.Headers.Add(GatewayHeaders.Identity, forged);
        request.Headers.Add("X-CasGateway-TargetMailbox", "bob@contoso.com");
        request.Headers.Add("X-Forwarded-For", "10.9.9.9");
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal("alice@contoso.com", answer.IdentityUser);
        Assert.Equal("alice@contoso.com", answer.Mailbox);
        Assert.Equal("127.0.0.1", answer.ForwardedFor);
    }

    [Fact]
    public async Task No_credentials_get_401_with_a_basic_challenge_and_no_backend_call()
    {
        var before = _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;
        using var response = await _client.GetAsync("/owa/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic" && h.Parameter!.Contains("realm=\"CasGateway\"", StringComparison.Ordinal));
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests);
    }

    [Theory]
    [InlineData("alice@contoso.com", "wrong")]
    [InlineData("nobody@contoso.com", "pw-nobody")]
    [InlineData("alice@contoso.com", "")]
    public async Task Wrong_password_gets_401_and_no_backend_is_contacted(string user, string password)
    {
        var before = _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(user, password);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests);
    }

    [Theory]
    [InlineData("Basic !!!notbase64")]
    [InlineData("Basic bm9jb2xvbg==")]
    [InlineData("Basic /zpwdw==")] // "\xFF:pw": not UTF-8 in the user name
    [InlineData("Basic YWxpY2VAY29udG9zby5jb206cHfD")] // "alice@contoso.com:pw\xC3": a cut UTF-8 sequence in the password
    [InlineData("Basic OnB3")] // ":pw": no user name
    public async Task Malformed_basic_credentials_get_401(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Unknown_mailbox_gets_404_with_a_reason_code_and_no_echo()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        request.Headers.Add("X-AnchorMailbox", "nobody@contoso.com");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("404 MailboxNotFound (request ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("nobody", body, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Path_outside_every_family_gets_404()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/notafamily/x");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Http2_clients_are_served()
    {
        using var client = _gateway.CreateClient(http2: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("mbx2.contoso.com", (await response.ReadAnswerAsync()).Server);
    }

    [Fact]
    public async Task Directory_edit_while_running_moves_the_next_requests()
    {
        var alice = _topology.Directory.Mailbox("alice@contoso.com");
        Assert.Equal("mbx1.contoso.com", await ServerOfAsync(alice));

        _topology.Directory.Activate("DB01", "mbx2.contoso.com");
        _topology.Directory.Save();

        var server = await PollAsync(() => ServerOfAsync(alice), s => s == "mbx2.contoso.com", TimeSpan.FromSeconds(10));
        Assert.Equal("mbx2.contoso.com", server);
    }

    [Fact]
    public async Task Malformed_directory_edit_keeps_the_last_good_directory()
    {
        var bob = _topology.Directory.Mailbox("bob@contoso.com");
        _topology.Directory.SaveText("{ \"servers\": [ { \"fqdn\": ");
        var rejected = await PollAsync(
            () => Task.FromResult(_logs.Events.Count(e => e.MessageTemplate.Text.StartsWith("Directory edit rejected", StringComparison.Ordinal))),
            n => n > 0, TimeSpan.FromSeconds(10));
        Assert.True(rejected > 0, "the malformed directory edit was not logged as rejected");
        Assert.Equal("mbx2.contoso.com", await ServerOfAsync(bob));

        // A later good edit still takes effect.
        _topology.Directory.Activate("DB02", "mbx1.contoso.com");
        _topology.Directory.Save();
        var server = await PollAsync(() => ServerOfAsync(bob), s => s == "mbx1.contoso.com", TimeSpan.FromSeconds(10));
        Assert.Equal("mbx1.contoso.com", server);
    }

    [Fact]
    public async Task Backend_down_answers_502_or_503_within_bounded_time()
    {
        await _topology.StopServerAsync("mbx2.contoso.com");
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        using var response = await _client.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"got {(int)response.StatusCode}");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");
    }

    /// <summary>The server that answered, or the status when the gateway or backend refused.</summary>
    private async Task<string> ServerOfAsync(TestMailbox mailbox)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(mailbox);
        using var response = await _client.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK ? (await response.ReadAnswerAsync()).Server : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static async Task<T> PollAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }
            await Task.Delay(50);
        }
    }
}
