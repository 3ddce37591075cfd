using CasGateway.Anchoring;
using CasGateway.Health;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CasGateway.Tests.Health;

public sealed class LongLivedRequestsTests
{
    [Theory]
    [InlineData(ProtocolFamily.ActiveSync, "POST", "?Cmd=Ping&User=alice&DeviceId=D1&DeviceType=Phone", null, "ActiveSyncPing")]
    [InlineData(ProtocolFamily.ActiveSync, "POST", "?cmd=ping&User=alice", null, "ActiveSyncPing")]
    [InlineData(ProtocolFamily.ActiveSync, "POST", "?Cmd=Sync&User=alice", null, null)]
    [InlineData(ProtocolFamily.ActiveSync, "POST", "?jRIJBAQBAgMEAAVQaG9uZQ%3D%3D", null, "ActiveSyncPing")]
    [InlineData(ProtocolFamily.ActiveSync, "POST", "?jQAJBAQBAgMEAAVQaG9uZQ%3D%3D", null, null)]
    [InlineData(ProtocolFamily.ActiveSync, "OPTIONS", "", null, null)]
    [InlineData(ProtocolFamily.Mapi, "POST", "?MailboxId=x@contoso.com", "NotificationWait", "MapiNotificationWait")]
    [InlineData(ProtocolFamily.Mapi, "POST", "?MailboxId=x@contoso.com", "Execute", null)]
    [InlineData(ProtocolFamily.Rpc, "RPC_OUT_DATA", "?x@contoso.com:6001", null, "RpcOutData")]
    [InlineData(ProtocolFamily.Rpc, "RPC_IN_DATA", "?x@contoso.com:6001", null, "RpcInData")]
    [InlineData(ProtocolFamily.Ews, "POST", "", null, null)]
    [InlineData(ProtocolFamily.Owa, "GET", "?Cmd=Ping", null, null)]
    public void Recognises_long_lived_requests(ProtocolFamily family, string method, string query, string? requestType, string? expected)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.QueryString = new QueryString(query);
        if (requestType is not null)
        {
            context.Request.Headers["X-RequestType"] = requestType;
        }
        Assert.Equal(expected, LongLivedRequests.KindOf(context, family));
    }

    [Fact]
    public void A_websocket_upgrade_is_long_lived_in_any_family()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpWebSocketFeature>(new UpgradeFeature());
        Assert.Equal("WebSocket", LongLivedRequests.KindOf(context, ProtocolFamily.Owa));
    }

    private sealed class UpgradeFeature : IHttpWebSocketFeature
    {
        public bool IsWebSocketRequest => true;

        public Task<System.Net.WebSockets.WebSocket> AcceptAsync(WebSocketAcceptContext context) => throw new NotSupportedException();
    }
}
