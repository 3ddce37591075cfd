using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using CasGateway.BackendAuth;
using Microsoft.AspNetCore.Http;

namespace CasGateway.DemoBackend;

/// <summary>The one endpoint of a demo mailbox server.</summary>
internal static class DemoMailboxEndpoint
{
    /// <summary>Trace headers besides traceparent and tracestate whose presence the answer reports.</summary>
    private static readonly string[] OtherTraceHeaderNames = ["baggage", "Request-Id", "Correlation-Context"];

    private const int ChunkSize = 64 * 1024;

    public static async Task HandleAsync(HttpContext context, DemoMailboxServerOptions options)
    {
        var request = context.Request;
        if (request.Path.Equals("/healthcheck.htm", StringComparison.OrdinalIgnoreCase))
        {
            await context.Response.WriteAsync("200 OK<br/>" + options.ServerName);
            return;
        }
        // With a trusted gateway, the mailbox is the signed one; without (benchmark baseline), the plain header.
        var identity = context.GetGatewayIdentity();
        var mailbox = identity is { TargetMailbox.Length: > 0 } ? identity.TargetMailbox : request.Headers[DemoMailboxServer.TargetMailboxHeader].ToString();
        if (options.MountedElsewhere?.Invoke(mailbox) is { } mountedOn)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers[GatewayHeaders.DbMountedOnServer] = mountedOn;
            await context.Response.WriteAsync("database not mounted on " + options.ServerName + "\n");
            return;
        }

        if (context.WebSockets.IsWebSocketRequest)
        {
            await EchoWebSocketAsync(context, Answer(context, options, mailbox, identity, 0, ""));
            return;
        }

        if (request.Query.TryGetValue("delay", out var delayText) && int.TryParse(delayText, out var delay) && delay is > 0 and <= 60_000)
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        if (request.Query.TryGetValue("download", out var sizeText) && long.TryParse(sizeText, out var size) && size >= 0)
        {
            await StreamDownloadAsync(context, size);
            return;
        }

        // Hash the request body as it streams in: the backend never holds it whole either.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        long bodyBytes = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(0, ChunkSize), context.RequestAborted)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                bodyBytes += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var answer = Answer(context, options, mailbox, identity, bodyBytes, Convert.ToHexString(hash.GetHashAndReset()));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(answer, DemoAnswer.JsonOptions) + "\n");
    }

    private static DemoAnswer Answer(HttpContext context, DemoMailboxServerOptions options, string mailbox, GatewayIdentity? identity, long bodyBytes, string bodySha256)
    {
        var request = context.Request;
        return new DemoAnswer(
            Server: options.ServerName,
            Mailbox: mailbox,
            Method: request.Method,
            Protocol: request.Protocol,
            Path: request.Path.Value ?? "",
            Query: request.QueryString.Value ?? "",
            IdentityUser: identity?.User,
            IdentityAuthenticationMethod: identity?.AuthenticationMethod,
            IdentityClientIp: identity?.ClientIp,
            ForwardedFor: request.Headers["X-Forwarded-For"].ToString(),
            Authorization: request.Headers.Authorization.ToString(),
            Cookie: request.Headers.Cookie.ToString(),
            BodyBytes: bodyBytes,
            BodySha256: bodySha256,
            TraceParent: request.Headers["traceparent"].ToString(),
            IdentityAudience: identity?.Audience,
            IdentityActsOnOtherMailbox: identity?.ActsOnOtherMailbox,
            ForwardedProto: request.Headers["X-Forwarded-Proto"].ToString(),
            TraceState: request.Headers["tracestate"].ToString(),
            OtherTraceHeaders: [.. OtherTraceHeaderNames.Where(name => request.Headers.ContainsKey(name))]);
    }

    /// <summary>A WebSocket: the answer as its first text message, then every message echoed until the client closes.</summary>
    private static async Task EchoWebSocketAsync(HttpContext context, DemoAnswer answer)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var cancel = context.RequestAborted;
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(answer, DemoAnswer.JsonOptions), WebSocketMessageType.Text, endOfMessage: true, cancel);
        var buffer = new byte[ChunkSize];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancel);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cancel);
                return;
            }
            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, cancel);
        }
    }

    private static async Task StreamDownloadAsync(HttpContext context, long size)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = size;
        var chunk = DemoPayload.Chunk;
        long sent = 0;
        while (sent < size)
        {
            var count = (int)Math.Min(chunk.Length, size - sent);
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, count), context.RequestAborted);
            sent += count;
        }
    }
}

/// <summary>What a demo mailbox server answers.</summary>
public sealed record DemoAnswer(
    string Server,
    string Mailbox,
    string Method,
    string Protocol,
    string Path,
    string Query,
    string? IdentityUser,
    string? IdentityAuthenticationMethod,
    string? IdentityClientIp,
    string ForwardedFor,
    string Authorization,
    string Cookie,
    long BodyBytes,
    string BodySha256,
    string TraceParent,
    string? IdentityAudience = null,
    bool? IdentityActsOnOtherMailbox = null,
    string ForwardedProto = "",
    string TraceState = "",
    string[]? OtherTraceHeaders = null)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}

/// <summary>The deterministic bytes a download streams: the same 64 KB block repeated.</summary>
public static class DemoPayload
{
    public static readonly byte[] Chunk = CreateChunk();

    /// <summary>SHA-256 of a download of <paramref name="size"/> bytes, for tests.</summary>
    public static string Sha256Of(long size)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long done = 0;
        while (done < size)
        {
            var count = (int)Math.Min(Chunk.Length, size - done);
            hash.AppendData(Chunk, 0, count);
            done += count;
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static byte[] CreateChunk()
    {
        var chunk = new byte[64 * 1024];
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (byte)(i * 31 + 7);
        }
        return chunk;
    }
}
