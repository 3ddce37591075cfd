using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CasGateway.EndToEnd.Sip;

/// <summary>SIP spoken by hand over raw sockets, for what SIPp cannot send (malformed, oversized, TLS).</summary>
internal static class RawSip
{
    public static string Request(string method, string requestUri, string transport, string extraHeaders = "", string? callId = null) =>
        $"{method} {requestUri} SIP/2.0\r\n"
        + $"Via: SIP/2.0/{transport} 127.0.0.1:5099;branch=z9hG4bK{Guid.NewGuid():N}\r\n"
        + "From: <sip:gateway@127.0.0.1>;tag=raw1\r\n"
        + $"To: <{requestUri}>\r\n"
        + $"Call-ID: {callId ?? Guid.NewGuid().ToString("N")}\r\n"
        + $"CSeq: 7 {method}\r\n"
        + "Max-Forwards: 70\r\n"
        + extraHeaders
        + "Content-Length: 0\r\n\r\n";

    /// <summary>Sends one datagram and returns the answer, or null when none came within <paramref name="wait"/>.</summary>
    public static async Task<string?> UdpAsync(IPEndPoint target, string message, TimeSpan wait, string localAddress = "127.0.0.1")
        => await UdpAsync(target, Encoding.UTF8.GetBytes(message), wait, localAddress);

    public static async Task<string?> UdpAsync(IPEndPoint target, byte[] message, TimeSpan wait, string localAddress = "127.0.0.1")
    {
        using var client = new UdpClient(new IPEndPoint(IPAddress.Parse(localAddress), 0));
        await client.SendAsync(message, target);
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            var received = await client.ReceiveAsync(timeout.Token);
            return Encoding.UTF8.GetString(received.Buffer);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A stream connection (TLS when <paramref name="tlsTrust"/> is given, trusting exactly that certificate).</summary>
    public static async Task<RawSipConnection> ConnectAsync(IPEndPoint target, X509Certificate2? tlsTrust = null, X509Certificate2? clientCertificate = null,
        string localAddress = "127.0.0.1")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
        await socket.ConnectAsync(target);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (tlsTrust is not null)
        {
            var tls = new SslStream(stream, false, (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == tlsTrust.GetCertHashString());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            });
            stream = tls;
        }
        return new RawSipConnection(stream);
    }
}

internal sealed class RawSipConnection(Stream stream) : IAsyncDisposable
{
    private readonly MemoryStream _pending = new();

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await stream.WriteAsync(bytes);
        await stream.FlushAsync();
    }

    /// <summary>The next response (up to its empty line), or null when the server closed the connection first.</summary>
    public async Task<string?> ReadResponseAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        while (true)
        {
            var text = Encoding.UTF8.GetString(_pending.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var rest = Encoding.UTF8.GetBytes(text[(end + 4)..]);
                _pending.SetLength(0);
                _pending.Write(rest);
                return text[..(end + 4)];
            }
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, cancel.Token);
            }
            catch (IOException)
            {
                return null;
            }
            if (read == 0)
            {
                return null;
            }
            _pending.Write(buffer, 0, read);
        }
    }

    /// <summary>Whether the server closes the connection (without sending more) within the timeout.</summary>
    public async Task<bool> ClosedAsync(TimeSpan? timeout = null) => await ReadResponseAsync(timeout) is null;

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}
