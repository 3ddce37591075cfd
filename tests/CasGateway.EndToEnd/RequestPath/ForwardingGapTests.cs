using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using CasGateway.DemoBackend;
using CasGateway.EndToEnd.Health;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>
/// Issue 16 gaps: a WebSocket proxied through the gateway to the user's mailbox server (TLS on both legs, the signed
/// identity on the upgrade), and the <c>X-Forwarded-Proto</c>/<c>-For</c> the backend sees, whatever the client claims.
/// </summary>
public sealed class ForwardingGapTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology);
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _topology);
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    public async Task A_websocket_reaches_the_users_mailbox_server_and_carries_messages_both_ways(string user, string server)
    {
        using var invoker = new HttpMessageInvoker(HealthTestKit.TrustingHandler(_gateway.ServerCertificate));
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", TestGateway.Basic(_topology.Directory.Mailbox(user)).ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var before = _topology.Backend(server).Requests;

        await socket.ConnectAsync(new Uri($"wss://localhost:{_gateway.BaseAddress.Port}/owa/ws"), invoker, timeout.Token);

        var greeting = JsonSerializer.Deserialize<DemoAnswer>(await ReceiveTextAsync(socket, timeout.Token), DemoAnswer.JsonOptions)!;
        Assert.Equal(server, greeting.Server);
        Assert.Equal(user, greeting.Mailbox);
        Assert.Equal(user, greeting.IdentityUser);
        Assert.Equal("/owa/ws", greeting.Path);
        Assert.Equal("", greeting.Authorization);
        Assert.Equal(before + 1, _topology.Backend(server).Requests);
        foreach (var text in new[] { "hello", new string('x', 100_000) })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            Assert.Equal(text, await ReceiveTextAsync(socket, timeout.Token));
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task A_websocket_without_credentials_is_refused_before_any_backend_hears_of_it()
    {
        using var invoker = new HttpMessageInvoker(HealthTestKit.TrustingHandler(_gateway.ServerCertificate));
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var before = _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"wss://localhost:{_gateway.BaseAddress.Port}/owa/ws"), invoker, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests + _topology.Backend("mbx2.contoso.com").Requests);
    }

    [Fact]
    public async Task The_backend_sees_https_and_the_clients_address_whatever_an_untrusted_client_claims()
    {
        using var plain = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        plain.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        var answer = await (await _client.SendAsync(plain)).ReadAnswerAsync();
        Assert.Equal("https", answer.ForwardedProto);
        Assert.Equal("127.0.0.1", answer.ForwardedFor);

        using var claiming = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        claiming.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        claiming.Headers.Add("X-Forwarded-Proto", "http");
        claiming.Headers.Add("X-Forwarded-For", "203.0.113.9");
        var claimed = await (await _client.SendAsync(claiming)).ReadAnswerAsync();
        Assert.Equal("https", claimed.ForwardedProto);
        Assert.Equal("127.0.0.1", claimed.ForwardedFor);
        Assert.Equal("127.0.0.1", claimed.IdentityClientIp);
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.Equal(WebSocketMessageType.Text, received.MessageType);
            message.Write(buffer, 0, received.Count);
        }
        while (!received.EndOfMessage);
        return Encoding.UTF8.GetString(message.ToArray());
    }
}
