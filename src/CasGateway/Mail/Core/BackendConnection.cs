using CasGateway.Throttling;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace CasGateway.Mail.Core;

/// <summary>The mailbox server refused or garbled the gateway's login; the message is safe to log (no secrets).</summary>
public sealed class BackendLoginException(string message) : Exception(message);

/// <summary>
/// One connection from the gateway to a mailbox server's IMAP or POP3 endpoint: lines while logging in, then raw
/// bytes. Reads go through a pipe with pooled buffers that are only taken while data is arriving (zero-byte reads).
/// </summary>
public sealed class BackendConnection : IAsyncDisposable
{
    private const int MaxLineLength = 64 * 1024;
    private static readonly Encoding Utf8 = new UTF8Encoding(false);
    private readonly Socket _socket;
    private Stream _stream;

    internal BackendConnection(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
        Input = CreateReader(stream);
    }

    /// <summary>What the server sent and the gateway has not consumed yet.</summary>
    public PipeReader Input { get; private set; }

    /// <summary>Reads one response line; throws <see cref="BackendLoginException"/> when the server closes or rambles.</summary>
    public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = await LineReader.ReadLineAsync(Input, MaxLineLength, cancellationToken);
        return line.Status switch
        {
            LineStatus.Line => line.Text,
            LineStatus.TooLong => throw new BackendLoginException("the mailbox server sent an over-long line"),
            _ => throw new BackendLoginException("the mailbox server closed the connection"),
        };
    }

    public async Task WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Utf8.GetBytes(line + "\r\n"), cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    /// <summary>Writes relayed bytes as they are.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>Tells the server the client has finished sending (relays a client's half-close).</summary>
    public async Task CloseSendAsync()
    {
        try
        {
            if (_stream is SslStream tls)
            {
                await tls.ShutdownAsync();
            }
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // Already gone: the relay ends either way.
        }
    }

    /// <summary>Starts TLS after the server accepted STARTTLS/STLS.</summary>
    internal async Task UpgradeToTlsAsync(SslClientAuthenticationOptions tls, CancellationToken cancellationToken)
    {
        if (LineReader.HasBufferedData(Input))
        {
            throw new BackendLoginException("the mailbox server sent data after accepting STARTTLS");
        }
        await Input.CompleteAsync();
        var secure = new SslStream(_stream, leaveInnerStreamOpen: false);
        try
        {
            await secure.AuthenticateAsClientAsync(tls, cancellationToken);
        }
        catch (AuthenticationException ex)
        {
            await secure.DisposeAsync();
            throw new BackendLoginException("TLS with the mailbox server failed: " + ex.Message);
        }
        _stream = secure;
        Input = CreateReader(secure);
    }

    /// <summary>The session's place under its user's cap (<c>Gateway:Throttling:MailSessions</c>), freed with the connection.</summary>
    public MailSessionSlot? Slot { get; set; }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
        if (Slot is not null)
        {
            await Slot.DisposeAsync();
        }
    }

    private static PipeReader CreateReader(Stream stream)
        => PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 2048, leaveOpen: true, useZeroByteReads: true));
}
