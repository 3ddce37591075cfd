using CasGateway.Anchoring;

namespace CasGateway.Health;

/// <summary>
/// Recognises requests that stay open for minutes by design, so a drain can end them and let the client reconnect
/// elsewhere: ActiveSync Ping (plain or base64-encoded query), MAPI/HTTP NotificationWait, RPC over HTTP channels
/// and WebSocket upgrades.
/// </summary>
public static class LongLivedRequests
{
    /// <summary>ActiveSync's command code for Ping in the base64-encoded query form (MS-ASHTTP 2.2.1.1.1.1.2).</summary>
    private const byte ActiveSyncPingCode = 18;

    /// <summary>The kind of long-lived request, or null for an ordinary one.</summary>
    public static string? KindOf(HttpContext context, ProtocolFamily family)
    {
        var request = context.Request;
        if (context.WebSockets.IsWebSocketRequest)
        {
            return "WebSocket";
        }
        return family switch
        {
            ProtocolFamily.ActiveSync when IsActiveSyncPing(request) => "ActiveSyncPing",
            ProtocolFamily.Mapi when string.Equals(request.Headers["X-RequestType"], "NotificationWait", StringComparison.OrdinalIgnoreCase) => "MapiNotificationWait",
            ProtocolFamily.Rpc when request.Method == "RPC_OUT_DATA" => "RpcOutData",
            ProtocolFamily.Rpc when request.Method == "RPC_IN_DATA" => "RpcInData",
            _ => null,
        };
    }

    private static bool IsActiveSyncPing(HttpRequest request)
    {
        if (request.Query.TryGetValue("Cmd", out var command))
        {
            return string.Equals(command, "Ping", StringComparison.OrdinalIgnoreCase);
        }
        // Base64 form: the whole query is one token; byte 0 is the protocol version, byte 1 the command code.
        var query = request.QueryString.Value;
        if (query is not { Length: > 4 })
        {
            return false;
        }
        var token = Uri.UnescapeDataString(query[1..]);
        Span<byte> head = stackalloc byte[3];
        return token.Length >= 4 && Convert.TryFromBase64String(token[..4], head, out var written) && written >= 2 && head[1] == ActiveSyncPingCode;
    }
}
