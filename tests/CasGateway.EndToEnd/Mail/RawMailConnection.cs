using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CasGateway.EndToEnd.Mail;

/// <summary>A hand-driven IMAP/POP3 connection (optionally TLS) for cases a real client would never produce.</summary>
public sealed class RawMailConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly List<byte> _pending = [];
    private Stream _stream;

    private RawMailConnection(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
    }

    /// <summary>
    /// Connects (from <paramref name="from"/>, another loopback address, when given); with a certificate, TLS starts
    /// at once and the gateway must present exactly that certificate.
    /// </summary>
    public static async Task<RawMailConnection> OpenAsync(IPEndPoint endPoint, X509Certificate2? tlsCertificate, IPAddress? from = null)
    {
        var tcp = from is null ? new TcpClient() : new TcpClient(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(endPoint);
        var connection = new RawMailConnection(tcp, tcp.GetStream());
        if (tlsCertificate is not null)
        {
            await connection.UpgradeToTlsAsync(tlsCertificate);
        }
        return connection;
    }

    /// <summary>Starts TLS on the open connection (after STARTTLS / STLS was accepted); the gateway must present exactly <paramref name="certificate"/>.</summary>
    public async Task UpgradeToTlsAsync(X509Certificate2 certificate)
    {
        var expected = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var tls = new SslStream(_stream, false, (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString(HashAlgorithmName.SHA256) == expected);
        await tls.AuthenticateAsClientAsync("localhost");
        _stream = tls;
    }

    public async Task SendAsync(string text)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await _stream.FlushAsync();
    }

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>The next line without CR LF; null when the gateway closed the connection.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        while (true)
        {
            var newline = _pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, newline).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, newline + 1);
                return line;
            }
            int read;
            try
            {
                read = await _stream.ReadAsync(buffer, deadline.Token);
            }
            catch (IOException)
            {
                read = 0;
            }
            if (read == 0)
            {
                return null;
            }
            _pending.AddRange(buffer.AsSpan(0, read));
        }
    }

    /// <summary>Reads lines until the gateway closes; fails the test if it keeps the connection open.</summary>
    public async Task<List<string>> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (await ReadLineAsync(timeout) is { } line)
        {
            lines.Add(line);
        }
        return lines;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
