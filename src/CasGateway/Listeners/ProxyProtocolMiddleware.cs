using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

/// <summary>
/// Kestrel connection middleware, ahead of TLS: a PROXY protocol header (v1 or v2) from a trusted balancer replaces
/// the connection's remote address with the client's, so logs and the identity sent to backends name the client.
/// A header from any other address is refused (connection closed, logged); connections without one pass untouched.
/// Active only when <c>Gateway:Listeners:ProxyProtocol:TrustedBalancers</c> lists someone. On the IMAP and POP3
/// listeners only connections from a trusted balancer are read for a header (and must carry one).
/// </summary>
public sealed partial class ProxyProtocolMiddleware(IOptions<ClientAddressOptions> options, ILogger<ProxyProtocolMiddleware> logger)
    : IClientListenerHook
{
    private readonly IReadOnlyList<IPNetwork> _balancers = ClientAddressOptions.ParseNetworks(options.Value.ProxyProtocol.TrustedBalancers);
    private readonly TimeSpan _headerTimeout = options.Value.ProxyProtocol.HeaderTimeout;

    public void Configure(ListenOptions listen, HttpsConnectionAdapterOptions https, ClientListenerKind kind)
    {
        if (_balancers.Count == 0)
        {
            return;
        }
        if (kind == ClientListenerKind.Mail)
        {
            // IMAP and POP3 clients wait for the server to speak first, so only a balancer's connection (which always
            // starts with its header) can be read ahead of the greeting; anyone else is greeted at once.
            listen.Use(next => connection => connection.RemoteEndPoint is IPEndPoint peer && ClientAddressOptions.Contains(_balancers, peer.Address)
                ? OnConnectionAsync(connection, next)
                : next(connection));
            return;
        }
        listen.Use(next => connection => OnConnectionAsync(connection, next));
    }

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var peer = connection.RemoteEndPoint as IPEndPoint;
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(_headerTimeout);
        while (true)
        {
            System.IO.Pipelines.ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                LogSilent(logger, peer?.ToString(), _headerTimeout.TotalSeconds);
                return;
            }
            var buffer = read.Buffer;
            var status = ProxyProtocolHeader.TryParse(buffer, out var header);
            if (status == ProxyHeaderStatus.NeedMoreData && !read.IsCompleted)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            switch (status)
            {
                case ProxyHeaderStatus.NeedMoreData:
                    // The peer closed before saying anything useful.
                    input.AdvanceTo(buffer.Start);
                    return;
                case ProxyHeaderStatus.NotProxy:
                    input.AdvanceTo(buffer.Start);
                    await next(connection);
                    return;
                case ProxyHeaderStatus.Parsed when peer is not null && ClientAddressOptions.Contains(_balancers, peer.Address):
                    input.AdvanceTo(buffer.GetPosition(header.Length));
                    if (header.Source is { } client)
                    {
                        connection.RemoteEndPoint = client;
                    }
                    LogAccepted(logger, header.Version, peer.ToString(), header.Source?.ToString() ?? "(balancer itself)");
                    await next(connection);
                    return;
                case ProxyHeaderStatus.Parsed:
                    input.AdvanceTo(buffer.Start);
                    LogUntrusted(logger, header.Version, peer?.ToString(), header.Source?.ToString());
                    return;
                default:
                    input.AdvanceTo(buffer.Start);
                    LogMalformed(logger, peer?.ToString());
                    return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "PROXY v{Version} header from balancer {Balancer}: client {Client}")]
    private static partial void LogAccepted(ILogger logger, int version, string balancer, string client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a PROXY v{Version} header from untrusted address {Peer} (claimed client {Claimed}); connection closed")]
    private static partial void LogUntrusted(ILogger logger, int version, string? peer, string? claimed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Malformed PROXY header from {Peer}; connection closed")]
    private static partial void LogMalformed(ILogger logger, string? peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection from {Peer} sent nothing within {Seconds} s; closed")]
    private static partial void LogSilent(ILogger logger, string? peer, double seconds);
}
