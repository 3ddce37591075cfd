using System.Net;
using System.Net.Sockets;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// A loopback TCP relay in front of a Dovecot port that counts the connections it accepts: how a test proves the
/// gateway did (or did not) open a backend connection.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;
    private int _accepted;

    private TcpForwarder(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The <c>host:port</c> to put in the directory.</summary>
    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Accepted => Volatile.Read(ref _accepted);

    public static TcpForwarder To(int targetPort) => new(targetPort);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }
        await Task.WhenAll(relays);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            lock (_relays)
            {
                _relays.RemoveAll(t => t.IsCompleted);
                _relays.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var _ = client;
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var serverStream = new NetworkStream(server, ownsSocket: false);
            await Task.WhenAll(PumpAsync(clientStream, server, _stop.Token), PumpAsync(serverStream, client, _stop.Token));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
        {
            // One side went away.
        }
    }

    /// <summary>Copies until the source ends, then passes the half-close on.</summary>
    private static async Task PumpAsync(NetworkStream from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), cancellationToken);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // The relay is over.
        }
    }
}
