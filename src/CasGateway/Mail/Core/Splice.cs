using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace CasGateway.Mail.Core;

/// <summary>
/// After login: relays bytes both ways, buffer by buffer, without looking at them, until either side closes. A
/// client's half-close is passed on and the server's last words (e.g. the answer to LOGOUT) are still delivered.
/// When the drain asks the session to leave, the relay is cut at the first quiet moment (nothing sent either way for
/// the quiet period: between commands, or in IDLE), or at once when the component is Inactive.
/// </summary>
public static class Splice
{
    /// <summary>How long the server gets to finish after the client stopped sending.</summary>
    private static readonly TimeSpan HalfCloseDrain = TimeSpan.FromSeconds(10);

    /// <summary>Relays until either side closes; true when the drain cut the relay (the client is still connected).</summary>
    public static async Task<bool> RunAsync(MailClient client, BackendConnection backend, MailSessionLog log, MailSessionPresence presence)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(client.Closed);
        var activity = new RelayActivity();
        var toBackend = ClientToBackendAsync(client.Input, backend, log, activity, stop.Token);
        var toClient = BackendToClientAsync(backend.Input, client.Output, log, activity, stop.Token);
        var drained = CutWhenQuietAsync(presence, activity, stop);
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
        return await drained;
    }

    /// <summary>Waits for the drain's request, then cuts the relay once both directions have been quiet long enough.</summary>
    private static async Task<bool> CutWhenQuietAsync(MailSessionPresence presence, RelayActivity activity, CancellationTokenSource stop)
    {
        using var leaveOrEnd = CancellationTokenSource.CreateLinkedTokenSource(presence.LeaveRequested, stop.Token);
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, leaveOrEnd.Token);
        }
        catch (OperationCanceledException)
        {
            // Asked to leave, or the session ended by itself.
        }
        while (!stop.IsCancellationRequested)
        {
            var quiet = activity.QuietFor;
            if (presence.CloseAtOnce || quiet >= presence.QuietPeriod)
            {
                await stop.CancelAsync();
                return true;
            }
            try
            {
                await Task.Delay(presence.QuietPeriod - quiet, stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return false;
    }

    /// <summary>True when the client closed its side cleanly (FIN), false when the relay was cut.</summary>
    private static async Task<bool> ClientToBackendAsync(PipeReader client, BackendConnection backend, MailSessionLog log, RelayActivity activity, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await client.ReadAsync(cancellationToken);
                activity.Touch();
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

    private static async Task BackendToClientAsync(PipeReader backend, PipeWriter client, MailSessionLog log, RelayActivity activity, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var result = await backend.ReadAsync(cancellationToken);
                activity.Touch();
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

    /// <summary>When bytes last moved in either direction (one clock read per buffer, nothing per byte).</summary>
    private sealed class RelayActivity
    {
        private long _last = Environment.TickCount64;

        public TimeSpan QuietFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _last));

        public void Touch() => Volatile.Write(ref _last, Environment.TickCount64);
    }

    private static bool IsDisconnect(Exception ex) => ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException;
}
