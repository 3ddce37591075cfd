using System.Net;

namespace CasGateway.Sip;

/// <summary>What a transport does after one message: send <see cref="Response"/> (if any), then close a stream or not.</summary>
internal readonly record struct SipReply(byte[]? Response, bool Close);

/// <summary>
/// One message, whatever the transport: refuses non-peers and malformed messages, asks the router otherwise, and
/// writes one protocol-log event per request (peer, method, called party, mailbox, server, answer).
/// </summary>
internal sealed partial class SipService(SipRouter router, SipMetrics metrics, ILogger<SipService> logger)
{
    public SipRouter Router => router;

    public async ValueTask<SipReply> HandleAsync(SipParseResult parsed, SipTransport transport, IPEndPoint peer, bool allowedPeer, CancellationToken cancellationToken)
    {
        var request = parsed.Request;
        var stream = transport != SipTransport.Udp;
        var peerText = peer.ToString();
        if (parsed.Status == SipParseStatus.Response)
        {
            LogResponseIgnored(logger, peerText, transport);
            return new SipReply(null, Close: false);
        }
        if (!allowedPeer)
        {
            metrics.PeerRefused(transport);
            var answer = stream && request.CanAnswer && request.Method != "ACK";
            LogNotPeer(logger, peerText, transport, request.Method, answer ? "403 Forbidden" : "dropped");
            // A stream stays open briefly so the peer's ACK for the 403 is absorbed (the handler bounds how long and how much).
            return new SipReply(answer ? SipResponse.Build(request, new SipAnswer(403, "Forbidden"), transport, peer) : null, Close: false);
        }
        if (parsed.Status is SipParseStatus.Malformed or SipParseStatus.TooLarge)
        {
            metrics.Malformed(transport);
            var refusal = parsed.Status == SipParseStatus.TooLarge ? new SipAnswer(513, "Message Too Large") : new SipAnswer(400, "Bad Request");
            var answer = request.CanAnswer && request.Method != "ACK";
            LogMalformed(logger, peerText, transport, request.Method, parsed.Error, answer ? refusal.Status : 0);
            return new SipReply(answer ? SipResponse.Build(request, refusal, transport, peer) : null, Close: stream);
        }
        SipAnswer? reply;
        try
        {
            reply = await router.AnswerAsync(request, transport, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A fault of ours or of the store, never the caller's: answered, logged, and the listener goes on.
            LogFailed(logger, ex, request.Method, peerText);
            reply = request.Method == "ACK" ? null : new SipAnswer(500, "Server Internal Error") { Detail = ex.GetType().Name };
        }
        metrics.Request(request.Method, transport, reply?.Status ?? 0);
        var level = reply is null || reply.Status < 400 || reply.Status is 404 or 405 or 481 ? LogLevel.Information : LogLevel.Warning;
        LogRequest(logger, level, request.Method, peerText, transport, request.First("Call-ID"), reply?.Called, reply?.Mailbox, reply?.Server,
            reply?.Status ?? 0, reply?.Contact, reply?.Detail ?? (reply is null ? "absorbed" : null));
        return new SipReply(reply is null ? null : SipResponse.Build(request, reply, transport, peer), Close: false);
    }

    /// <summary>A message whose header section never ended within the size limit: nothing can be answered.</summary>
    public void Oversized(SipTransport transport, IPEndPoint peer, bool allowedPeer)
    {
        if (allowedPeer)
        {
            metrics.Malformed(transport);
        }
        else
        {
            metrics.PeerRefused(transport);
        }
        LogMalformed(logger, peer.ToString(), transport, "", "headers beyond the size limit", 0);
    }

    [LoggerMessage(Message = "SIP {Method} from {Peer} over {Transport} (Call-ID {CallId}): called {Called} mailbox {Mailbox} on {BackendServer}: "
        + "{Status} {Contact} {Detail}")]
    private static partial void LogRequest(ILogger logger, LogLevel level, string method, string peer, SipTransport transport, string? callId,
        string? called, string? mailbox, string? backendServer, int status, string? contact, string? detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP {Method} from {Peer} over {Transport}: not a configured peer, {Action}")]
    private static partial void LogNotPeer(ILogger logger, string peer, SipTransport transport, string method, string action);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP {Method} from {Peer} over {Transport}: refused ({Error}), answered {Status} (0: dropped)")]
    private static partial void LogMalformed(ILogger logger, string peer, SipTransport transport, string method, string? error, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "SIP {Method} from {Peer}: the router failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP response from {Peer} over {Transport} ignored (the router sends no requests)")]
    private static partial void LogResponseIgnored(ILogger logger, string peer, SipTransport transport);
}
