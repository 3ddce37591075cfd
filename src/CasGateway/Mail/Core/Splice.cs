using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace CasGateway.Mail.Core;

/// <summary>
/// After login: relays bytes both ways, buffer by buffer, without looking at them, until either side closes. A
/// client's half-close is passed on and the server's last words (e.g. the answer to LOGOUT) are still delivered.
/// </summary>
public static class Splice
{
    /// <summary>How long the server gets to finish after the client stopped sending.</summary>
    private static readonly TimeSpan HalfCloseDrain = TimeSpan.FromSeconds(10);

    public static async Task RunAsync(MailClient client, BackendConnection backend, MailSessionLog log)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(client.Closed);
        var toBackend = ClientToBackendAsync(client.Input, backend, log, stop.Token);
        var toClient = BackendToClientAsync(backend.Input, client.Output, log, stop.Token);
        if (await Task.WhenAny(toBackend, toClient) == toBackend && await toBackend)
        {
            await backend.CloseSendAsync();
            try
            {
                await toClient.WaitAsync(HalfCloseDrain);
            }
            catch (TimeoutException)
            {
                // The server did not close after the client's half-close; stop waiting.
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(toBackend, toClient);
    }

    /// <summary>True when the client closed its side cleanly (FIN), false when the relay was cut.</summary>
    private static async Task<bool> ClientToBackendAsync(PipeReader client, BackendConnection backend, MailSessionLog log, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await client.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await backend.WriteAsync(segment, cancellationToken);
                }
                log.BytesFromClient += buffer.Length;
                client.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return result.IsCompleted;
                }
            }
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            return false;
        }
    }

    private static async Task BackendToClientAsync(PipeReader backend, PipeWriter client, MailSessionLog log, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await backend.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    client.Write(segment.Span);
                }
                log.BytesToClient += buffer.Length;
                backend.AdvanceTo(buffer.End);
                var flush = await client.FlushAsync(cancellationToken);
                if (result.IsCompleted || result.IsCanceled || flush.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            // Either side went away: the session is over.
        }
    }

    private static bool IsDisconnect(Exception ex) => ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException;
}
