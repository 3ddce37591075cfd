using System.Net;
using System.Net.Sockets;
using CasGateway.Listeners;
using Microsoft.Extensions.Options;

namespace CasGateway.Sip;

/// <summary>
/// SIP over UDP on a socket of its own: each datagram is one message, answered to the address and port it came
/// from (as <c>rport</c> asks). Datagrams from non-peers, oversized ones and those that cannot be answered are
/// dropped (logged and counted). A bounded number of datagrams are worked on at once; beyond that the socket's
/// buffer queues them and the peer's retransmissions cover any loss.
/// </summary>
internal sealed partial class SipUdpListener(
    SipService service, SipListeners listeners, IOptions<SipOptions> options, IOptions<ListenerOptions> listener, ILogger<SipUdpListener> logger)
    : BackgroundService
{
    private const int MaxConcurrent = 64;
    private readonly SemaphoreSlim _slots = new(MaxConcurrent);
    private Socket? _socket;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        ListenersStage.TryParseAddress(listener.Value.Address, out var address);
        var socket = new Socket(address!.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.DualMode = true;
        }
        socket.Bind(new IPEndPoint(address, options.Value.UdpPort!.Value));
        _socket = socket;
        listeners.Udp = (IPEndPoint)socket.LocalEndPoint!;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _socket?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _socket?.Dispose();
        _slots.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var socket = _socket!;
        var any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            var buffer = new byte[65536];
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // E.g. an ICMP port-unreachable for an earlier answer (Windows): not this datagram's fault.
                LogReceiveFailed(logger, ex.SocketErrorCode);
                continue;
            }
            var remote = (IPEndPoint)received.RemoteEndPoint;
            var peer = new IPEndPoint(remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address, remote.Port);
            await _slots.WaitAsync(stoppingToken);
            _ = HandleAsync(socket, buffer.AsMemory(0, received.ReceivedBytes), peer, remote, stoppingToken);
        }
    }

    private async Task HandleAsync(Socket socket, ReadOnlyMemory<byte> datagram, IPEndPoint peer, IPEndPoint replyTo, CancellationToken stoppingToken)
    {
        try
        {
            var settings = options.Value;
            var allowed = service.Router.IsPeer(peer.Address);
            if (datagram.Span.TrimStart("\r\n"u8).IsEmpty)
            {
                // A keep-alive; nothing to answer over UDP.
                return;
            }
            var limits = SipLimits.From(settings);
            var headLength = datagram.Length > limits.MaxMessageSize ? -1 : SipParser.HeaderSectionLength(datagram.Span);
            if (headLength < 0)
            {
                if (datagram.Length > limits.MaxMessageSize || !allowed)
                {
                    service.Oversized(SipTransport.Udp, peer, allowed);
                    return;
                }
                headLength = datagram.Length;
            }
            var parsed = SipParser.Parse(datagram.Span[..headLength], datagram.Length - headLength, limits);
            var reply = await service.HandleAsync(parsed, SipTransport.Udp, peer, allowed, stoppingToken);
            if (reply.Response is not null)
            {
                await socket.SendToAsync(reply.Response, SocketFlags.None, replyTo, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            LogSendFailed(logger, peer.ToString(), ex.Message);
        }
        finally
        {
            _slots.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP over UDP: receive failed ({Error})")]
    private static partial void LogReceiveFailed(ILogger logger, SocketError error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP over UDP: could not answer {Peer} ({Error})")]
    private static partial void LogSendFailed(ILogger logger, string peer, string error);
}
