using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace CasGateway.Sip;

/// <summary>
/// Kestrel's entry point for SIP over TCP and TLS: frames requests by their <c>Content-Length</c>, answers each in
/// order, answers a CRLF keep-alive (RFC 5626) with CRLF, and closes the connection after a message it could not
/// frame. A non-peer's requests get <c>403</c> (its ACKs absorbed) for a few messages or seconds, then the connection closes.
/// </summary>
internal sealed class SipConnectionHandler(SipService service, IOptionsMonitor<SipOptions> options) : ConnectionHandler
{
    private static readonly TimeSpan NonPeerTimeout = TimeSpan.FromSeconds(5);
    private const int MaxNonPeerMessages = 4;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote)
        {
            return;
        }
        var peer = new IPEndPoint(remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address, remote.Port);
        var tls = connection.Features.Get<ITlsConnectionFeature>();
        var transport = tls is null ? SipTransport.Tcp : SipTransport.Tls;
        var thumbprint = tls?.ClientCertificate is { } certificate ? certificate.GetCertHashString(HashAlgorithmName.SHA256) : null;
        var allowed = service.Router.IsPeer(peer.Address) && (tls is null || service.Router.IsPeerCertificate(thumbprint));
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, closing);
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        var refused = 0;
        if (!allowed)
        {
            stop.CancelAfter(NonPeerTimeout);
        }
        try
        {
            while (true)
            {
                var settings = options.CurrentValue;
                var limits = SipLimits.From(settings);
                if (allowed)
                {
                    stop.CancelAfter(settings.IdleTimeout);
                }
                var read = await input.ReadAsync(stop.Token);
                var buffer = read.Buffer;
                var (consumed, reply) = await NextAsync(buffer, limits, transport, peer, allowed, read.IsCompleted, stop.Token);
                if (reply.Response is not null)
                {
                    await output.WriteAsync(reply.Response, stop.Token);
                }
                if (consumed is { } position)
                {
                    input.AdvanceTo(position);
                }
                else
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (!allowed && consumed is not null)
                {
                    refused++;
                }
                if (reply.Close || (read.IsCompleted && consumed is null) || refused >= MaxNonPeerMessages)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Idle, refused peer's silence, or the connection is going away.
        }
        catch (ConnectionResetException)
        {
        }
    }

    /// <summary>Handles one framed message (or keep-alive) at the start of the buffer; null consumed = need more bytes.</summary>
    private async ValueTask<(SequencePosition? Consumed, SipReply Reply)> NextAsync(
        ReadOnlySequence<byte> buffer, SipLimits limits, SipTransport transport, IPEndPoint peer, bool allowed, bool completed, CancellationToken cancellationToken)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.IsNext("\r\n\r\n"u8, advancePast: true))
        {
            // RFC 5626 keep-alive ping: answered with a pong.
            return (reader.Position, new SipReply("\r\n"u8.ToArray(), Close: false));
        }
        if (reader.IsNext("\r\n"u8, advancePast: true))
        {
            return buffer.Length >= 4 || completed ? (reader.Position, default) : (null, default);
        }
        var window = buffer.Slice(0, Math.Min(buffer.Length, limits.MaxMessageSize));
        var bytes = window.IsSingleSegment ? window.FirstSpan : window.ToArray();
        var headLength = SipParser.HeaderSectionLength(bytes);
        if (headLength < 0)
        {
            if (buffer.Length >= limits.MaxMessageSize)
            {
                service.Oversized(transport, peer, allowed);
                return (buffer.End, new SipReply(null, Close: true));
            }
            return (null, default);
        }
        var parsed = SipParser.Parse(bytes[..headLength], datagramBody: null, limits);
        if (parsed.Status == SipParseStatus.Request && buffer.Length < headLength + parsed.Request.ContentLength)
        {
            return completed ? (buffer.End, new SipReply(null, Close: true)) : (null, default);
        }
        var reply = await service.HandleAsync(parsed, transport, peer, allowed, cancellationToken);
        var end = parsed.Status == SipParseStatus.Request || parsed.Request.HasContentLength
            ? Math.Min(buffer.Length, headLength + parsed.Request.ContentLength)
            : headLength;
        return (buffer.GetPosition(end), reply);
    }
}
