using System.Net;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;

namespace CasGateway.EndToEnd.Observability;

/// <summary>Issue 9: one protocol log event per request, with the facts an admin needs to explain it.</summary>
// Compares latencies measured by different clocks: runs with the other load-sensitive tests, not beside them.
[Collection(Health.LoadSensitive.Name)]
public sealed class ProtocolLogTests : IAsyncLifetime
{
    private readonly CapturingLogSink _log = new();
    private TestTopology _topology = null!;
    private TestGateway? _gateway;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        await StartGatewayAsync([]);
    }

    public async Task DisposeAsync()
    {
        var gateway = _gateway;
        _gateway = null;
        await Cleanup.DisposeAllAsync(_client, gateway, _topology);
    }

    private async Task StartGatewayAsync(Dictionary<string, string?> settings)
    {
        settings["Serilog:MinimumLevel:Default"] = "Information";
        // No background health probes: the first request must be the one that opens the pooled connection.
        settings.TryAdd("Gateway:Backend:Health:ActiveEnabled", "false");
        _gateway = await TestGateway.StartAsync(_topology, settings, services => services.AddSingleton<ILogEventSink>(_log));
        _client = _gateway.CreateClient();
    }

    /// <summary>Stops the gateway: every request's completion (and so its log event) has run by then.</summary>
    private async Task StopGatewayAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
            _gateway = null;
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string user = "alice@contoso.com")
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        return request;
    }

    private static object? V(LogEvent e, string property) => CapturingLogSink.Value(e, property);

    [Fact]
    public async Task One_request_writes_exactly_one_event_with_the_routing_facts()
    {
        var clientRequestId = Guid.NewGuid().ToString();
        using var request = Request(HttpMethod.Get, "/owa/?x=1");
        request.Headers.UserAgent.ParseAdd("Outlook-Test/16.0");
        request.Headers.Add("client-request-id", clientRequestId);
        using var response = await _client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var gatewayPort = _gateway!.BaseAddress.Port;
        await StopGatewayAsync();

        var e = Assert.Single(_log.ProtocolEvents);
        Assert.Equal(LogEventLevel.Information, e.Level);
        Assert.Matches("^[0-9a-f]{32}$", (string)V(e, "TraceId")!);
        Assert.Equal(e.TraceId?.ToHexString(), V(e, "TraceId"));
        Assert.False(string.IsNullOrEmpty((string?)V(e, "RequestId")));
        Assert.True(DateTimeOffset.TryParse((string)V(e, "DateTime")!, out var started) && started <= e.Timestamp);
        Assert.Equal(clientRequestId, V(e, "ClientRequestId"));
        Assert.Equal("Owa", V(e, "Protocol"));
        Assert.Equal("GET", V(e, "Method"));
        Assert.Equal("127.0.0.1", V(e, "UrlHost"));
        Assert.Equal("/owa/", V(e, "UrlStem"));
        Assert.False(e.Properties.ContainsKey("UrlQuery"));
        Assert.Equal("127.0.0.1", V(e, "ClientIpAddress"));
        Assert.InRange((int)V(e, "ClientPort")!, 1, 65535);
        Assert.NotEqual(gatewayPort, V(e, "ClientPort"));
        Assert.Equal("Outlook-Test/16.0", V(e, "UserAgent"));
        Assert.Equal("Basic", V(e, "AuthenticationType"));
        Assert.Equal(true, V(e, "IsAuthenticated"));
        Assert.Equal("alice@contoso.com", V(e, "AuthenticatedUser"));
        Assert.Equal("alice@contoso.com", V(e, "AnchorMailbox"));
        Assert.Equal("User", V(e, "RoutingHint"));
        Assert.Equal("Locator", V(e, "RoutingType"));
        Assert.StartsWith("File ", (string?)V(e, "LocatorStore"));
        Assert.Null(V(e, "BackEndCookie"));
        Assert.Equal("Proxy", V(e, "ProxyAction"));
        Assert.Null(V(e, "ErrorCode"));
        Assert.Equal("mbx1.contoso.com", V(e, "TargetServer"));
        Assert.Equal("15.2.1544.4", V(e, "TargetServerVersion"));
        Assert.Equal("Site1", V(e, "TargetSite"));
        Assert.Equal("DB01", V(e, "Database"));
        Assert.Equal("cas-test.contoso.com", V(e, "ServerHostName"));
        Assert.Equal(200, V(e, "HttpStatus"));
        Assert.Equal(200, V(e, "BackEndStatus"));
        Assert.Equal(0, V(e, "RetryCount"));
        Assert.Equal(0L, V(e, "RequestBytes"));
        Assert.Equal((long)body.Length, V(e, "ResponseBytes"));

        var total = (double)V(e, "TotalRequestTime")!;
        var locate = (double)V(e, "ServerLocatorLatency")!;
        var connect = (double)V(e, "BackendConnectLatency")!;
        var firstByte = (double)V(e, "BackendFirstByteLatency")!;
        var backend = (double)V(e, "BackendTotalLatency")!;
        var overhead = (double)V(e, "HttpProxyOverhead")!;
        // The first request to mbx1 opens the pooled connection (TCP + mutual TLS): it waited for it.
        Assert.True(connect > 0, $"connect {connect}");
        Assert.True(connect <= firstByte && firstByte <= backend && backend <= total, $"connect {connect}, first byte {firstByte}, backend {backend}, total {total}");
        Assert.True(locate > 0 && locate < total, $"locate {locate}, total {total}");
        Assert.Equal(total - backend, overhead, 0.01);
    }

    [Fact]
    public async Task Request_and_response_bytes_are_the_body_bytes_each_way()
    {
        var payload = new byte[300_000];
        Random.Shared.NextBytes(payload);
        using var request = Request(HttpMethod.Post, "/EWS/Exchange.asmx");
        request.Content = new ByteArrayContent(payload);
        using var response = await _client.SendAsync(request);
        var answer = await response.ReadAnswerAsync();
        Assert.Equal(payload.Length, answer.BodyBytes);
        var responseLength = response.Content.Headers.ContentLength;
        using var download = Request(HttpMethod.Get, "/owa/?download=5000000");
        using var downloaded = await _client.SendAsync(download);
        Assert.Equal(5_000_000, (await downloaded.Content.ReadAsByteArrayAsync()).Length);
        await StopGatewayAsync();

        var post = Assert.Single(_log.ProtocolEvents, e => (string?)V(e, "Method") == "POST");
        Assert.Equal((long)payload.Length, V(post, "RequestBytes"));
        Assert.Equal(responseLength ?? -1, V(post, "ResponseBytes"));
        var get = Assert.Single(_log.ProtocolEvents, e => (string?)V(e, "Method") == "GET");
        Assert.Equal(0L, V(get, "RequestBytes"));
        Assert.Equal(5_000_000L, V(get, "ResponseBytes"));
    }

    [Fact]
    public async Task Cookie_and_cache_are_told_apart_from_the_locator()
    {
        using var first = Request(HttpMethod.Get, "/owa/");
        using var firstResponse = await _client.SendAsync(first);
        var cookie = firstResponse.Headers.GetValues("Set-Cookie").Select(v => v.Split(';')[0]).Single(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal));
        using var withCookie = Request(HttpMethod.Get, "/owa/inbox");
        withCookie.Headers.Add("Cookie", cookie);
        (await _client.SendAsync(withCookie)).Dispose();
        using var cached = Request(HttpMethod.Get, "/owa/calendar");
        (await _client.SendAsync(cached)).Dispose();
        await StopGatewayAsync();

        var byPath = _log.ProtocolEvents.ToDictionary(e => (string)V(e, "UrlStem")!);
        Assert.Equal("Locator", V(byPath["/owa/"], "RoutingType"));
        Assert.Equal("BackEndCookie", V(byPath["/owa/inbox"], "RoutingType"));
        Assert.Equal("Hit", V(byPath["/owa/inbox"], "BackEndCookie"));
        Assert.Equal("User-ServerCookie", V(byPath["/owa/inbox"], "RoutingHint"));
        Assert.Equal(0.0, V(byPath["/owa/inbox"], "ServerLocatorLatency"));
        Assert.Equal("LocatorCache", V(byPath["/owa/calendar"], "RoutingType"));
        Assert.All(byPath.Values, e => Assert.Equal("mbx1.contoso.com", V(e, "TargetServer")));
    }

    [Fact]
    public async Task Refusals_are_logged_as_rejected_with_their_error_code_and_no_backend()
    {
        using var unknown = Request(HttpMethod.Get, "/EWS/Exchange.asmx");
        unknown.Headers.Add("X-AnchorMailbox", "nobody@contoso.com");
        Assert.Equal(HttpStatusCode.NotFound, (await _client.SendAsync(unknown)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.GetAsync("/owa/anonymous")).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/owa/wrong");
        wrong.Headers.Authorization = TestGateway.Basic("alice@contoso.com", "not-her-password");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(wrong)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.GetAsync("/nothing/here")).StatusCode);
        await StopGatewayAsync();

        var byPath = _log.ProtocolEvents.ToDictionary(e => (string)V(e, "UrlStem")!);
        var notFound = byPath["/EWS/Exchange.asmx"];
        Assert.Equal("Rejected", V(notFound, "ProxyAction"));
        Assert.Equal("MailboxNotFound", V(notFound, "ErrorCode"));
        Assert.Equal(404, V(notFound, "HttpStatus"));
        Assert.Equal("nobody@contoso.com", V(notFound, "AnchorMailbox"));
        Assert.Equal("AnchorMailboxHeader-SMTP", V(notFound, "RoutingHint"));
        Assert.Null(V(notFound, "TargetServer"));
        Assert.Null(V(notFound, "BackEndStatus"));
        Assert.Null(V(notFound, "BackendTotalLatency"));

        Assert.Equal("NoCredentials", V(byPath["/owa/anonymous"], "ErrorCode"));
        Assert.Equal("Owa", V(byPath["/owa/anonymous"], "Protocol"));
        Assert.Equal(false, V(byPath["/owa/anonymous"], "IsAuthenticated"));
        Assert.Null(V(byPath["/owa/anonymous"], "AuthenticatedUser"));
        Assert.Null(V(byPath["/owa/anonymous"], "ClientRequestId"));
        Assert.Equal("AuthenticationFailed", V(byPath["/owa/wrong"], "ErrorCode"));
        Assert.All(new[] { byPath["/owa/anonymous"], byPath["/owa/wrong"] }, e => Assert.Equal("Rejected", V(e, "ProxyAction")));
        // Outside every family route the fallback policy still asks for credentials first.
        Assert.Equal("None", V(byPath["/nothing/here"], "Protocol"));
        Assert.Equal(401, V(byPath["/nothing/here"], "HttpStatus"));
    }

    [Fact]
    public async Task Dead_backend_is_logged_with_the_server_it_was_sent_to_and_the_forwarder_error()
    {
        await _topology.StopServerAsync("mbx1.contoso.com");
        using var request = Request(HttpMethod.Get, "/owa/");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        await StopGatewayAsync();

        var e = Assert.Single(_log.ProtocolEvents);
        Assert.Equal(LogEventLevel.Warning, e.Level);
        Assert.Equal("Proxy", V(e, "ProxyAction"));
        Assert.Equal("mbx1.contoso.com", V(e, "TargetServer"));
        // Refused connections are retried (twice), then answered 503 by the gateway.
        Assert.Equal("ServerUnavailable", V(e, "ErrorCode"));
        Assert.Equal(2, V(e, "RetryCount"));
        Assert.Equal(503, V(e, "HttpStatus"));
        Assert.Null(V(e, "BackEndStatus"));
    }

    [Fact]
    public async Task Query_is_logged_only_for_the_families_configuration_names()
    {
        await StopGatewayAsync();
        _client.Dispose();
        await StartGatewayAsync(new() { ["Gateway:ProtocolLog:LogQueryFamilies:0"] = "Ews" });
        using var ews = Request(HttpMethod.Get, "/EWS/Exchange.asmx?view=full");
        (await _client.SendAsync(ews)).Dispose();
        using var owa = Request(HttpMethod.Get, "/owa/?secret-ish=1");
        (await _client.SendAsync(owa)).Dispose();
        await StopGatewayAsync();

        var byPath = _log.ProtocolEvents.ToDictionary(e => (string)V(e, "UrlStem")!);
        Assert.Equal("?view=full", V(byPath["/EWS/Exchange.asmx"], "UrlQuery"));
        Assert.False(byPath["/owa/"].Properties.ContainsKey("UrlQuery"));
        Assert.DoesNotContain("secret-ish", _log.RenderAll(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cross_site_and_any_server_requests_name_the_server_that_answered()
    {
        await StopGatewayAsync();
        _client.Dispose();
        await _topology.AddServerAsync("mbx3.contoso.com", "Site2", "15.1.2507.6");
        _topology.Directory.Databases.Add(("DB03", Guid.NewGuid(), ["mbx3.contoso.com"], "mbx3.contoso.com"));
        _topology.Directory.AddMailbox("dave@contoso.com", "DB03");
        _topology.Directory.Save();
        await StartGatewayAsync(new() { ["Gateway:Site"] = "Site1" });

        using var remote = Request(HttpMethod.Get, "/owa/", "dave@contoso.com");
        Assert.Equal("mbx3.contoso.com", (await (await _client.SendAsync(remote)).ReadAnswerAsync()).Server);
        using var local = Request(HttpMethod.Get, "/owa/");
        (await _client.SendAsync(local)).Dispose();
        using var anyServer = Request(HttpMethod.Get, "/powershell/");
        var answeredBy = (await (await _client.SendAsync(anyServer)).ReadAnswerAsync()).Server;
        await StopGatewayAsync();

        var dave = Assert.Single(_log.ProtocolEvents, e => (string?)V(e, "AuthenticatedUser") == "dave@contoso.com");
        Assert.Equal("CrossSiteProxy", V(dave, "ProxyAction"));
        Assert.Equal("Site2", V(dave, "TargetSite"));
        Assert.Equal("15.1.2507.6", V(dave, "TargetServerVersion"));
        var alice = Assert.Single(_log.ProtocolEvents, e => (string?)V(e, "UrlStem") == "/owa/" && (string?)V(e, "AuthenticatedUser") == "alice@contoso.com");
        Assert.Equal("Proxy", V(alice, "ProxyAction"));
        var powershell = Assert.Single(_log.ProtocolEvents, e => (string?)V(e, "UrlStem") == "/powershell/");
        Assert.Equal("PowerShell", V(powershell, "Protocol"));
        Assert.Equal("AnyServer", V(powershell, "RoutingType"));
        Assert.Equal("Proxy", V(powershell, "ProxyAction"));
        Assert.Equal(answeredBy, V(powershell, "TargetServer"));
        Assert.Equal("Site1", V(powershell, "TargetSite"));
        Assert.Null(V(powershell, "AnchorMailbox"));
        Assert.Null(V(powershell, "ServerLocatorLatency"));
    }
}
