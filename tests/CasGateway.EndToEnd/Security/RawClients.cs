using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CasGateway.EndToEnd.Security;

/// <summary>What the gateway did with one hand-written request.</summary>
public sealed record RawAnswer(int Status, string Head, string Body, bool Closed, bool Reset)
{
    /// <summary>Refused: a 400, or (HTTP/2) the stream or connection reset by the server's framing layer.</summary>
    public bool Refused => Status == 400 || Reset;
}

/// <summary>
/// Requests written byte by byte over real TLS, for what HttpClient will not send: raw CR, LF, NUL and non-ASCII in
/// header values, ambiguous framing (HTTP/1.1), and the same hostile bytes in HPACK literals (HTTP/2).
/// </summary>
public static class RawClients
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<SslStream> ConnectAsync(Uri server, X509Certificate2 expected, SslApplicationProtocol protocol)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var thumbprint = expected.GetCertHashString(HashAlgorithmName.SHA256);
        var tls = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
            cert is not null && X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256) == thumbprint);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [protocol] });
        return tls;
    }

    /// <summary>
    /// Sends <paramref name="request"/> as is on a new HTTP/1.1 connection and reads one response; with
    /// <paramref name="awaitClose"/>, also whether the server then closed the connection (waiting up to 2 s for it).
    /// </summary>
    public static async Task<RawAnswer> Http1Async(Uri server, X509Certificate2 expected, byte[] request, bool awaitClose = false)
    {
        await using var tls = await ConnectAsync(server, expected, SslApplicationProtocol.Http11);
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await tls.WriteAsync(request, timeout.Token);
            await tls.FlushAsync(timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before reading all of a bad request.
        }
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headEnd;
        while ((headEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            var read = await ReadAsync(tls, buffer, timeout.Token);
            if (read == 0)
            {
                return new RawAnswer(0, Encoding.Latin1.GetString([.. received]), "", true, false);
            }
            received.AddRange(buffer.AsSpan(0, read));
        }
        var head = Encoding.Latin1.GetString([.. received], 0, headEnd);
        var status = int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = new List<byte>(received.Skip(headEnd + 4));
        var chunked = head.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase);
        while (chunked ? IndexOf(body, "0\r\n\r\n"u8) < 0 : body.Count < length)
        {
            var read = await ReadAsync(tls, buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }
            body.AddRange(buffer.AsSpan(0, read));
        }
        // A server that keeps the connection waits for the next request; one that closes it sends EOF at once.
        var closed = false;
        if (awaitClose)
        {
            using var linger = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                closed = await ReadAsync(tls, buffer, linger.Token) == 0;
            }
            catch (OperationCanceledException)
            {
            }
        }
        return new RawAnswer(status, head, chunked ? Dechunk([.. body]) : Encoding.UTF8.GetString([.. body]), closed, false);
    }

    /// <summary>
    /// One GET on a new HTTP/2 connection; header values are written as raw HPACK literals (no Huffman), so any byte
    /// reaches the server's decoder. Returns the response status, or Reset when the server reset the stream or the connection.
    /// </summary>
    public static async Task<RawAnswer> Http2Async(Uri server, X509Certificate2 expected, byte[] path, IEnumerable<(string Name, byte[] Value)> headers)
    {
        await using var tls = await ConnectAsync(server, expected, SslApplicationProtocol.Http2);
        using var timeout = new CancellationTokenSource(Timeout);
        var block = new List<byte>();
        Literal(block, ":method"u8.ToArray(), "GET"u8.ToArray());
        Literal(block, ":scheme"u8.ToArray(), "https"u8.ToArray());
        Literal(block, ":authority"u8.ToArray(), Encoding.ASCII.GetBytes($"localhost:{server.Port}"));
        Literal(block, ":path"u8.ToArray(), path);
        foreach (var (name, value) in headers)
        {
            Literal(block, Encoding.ASCII.GetBytes(name.ToLowerInvariant()), value);
        }
        var output = new List<byte>();
        output.AddRange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        output.AddRange(Frame(4, 0, 0, []));
        output.AddRange(Frame(1, 0x5, 1, [.. block]));
        await tls.WriteAsync(output.ToArray(), timeout.Token);
        await tls.FlushAsync(timeout.Token);
        var status = 0;
        var body = new List<byte>();
        var frameHead = new byte[9];
        try
        {
            while (true)
            {
                await ReadExactlyAsync(tls, frameHead, timeout.Token);
                var length = (frameHead[0] << 16) | (frameHead[1] << 8) | frameHead[2];
                var type = frameHead[3];
                var flags = frameHead[4];
                var stream = BinaryPrimitives.ReadInt32BigEndian(frameHead.AsSpan(5)) & 0x7fffffff;
                var payload = new byte[length];
                await ReadExactlyAsync(tls, payload, timeout.Token);
                if (type == 4 && (flags & 1) == 0)
                {
                    await tls.WriteAsync(Frame(4, 1, 0, []), timeout.Token);
                }
                else if (type == 7 || (type == 3 && stream == 1))
                {
                    return new RawAnswer(status, "", "", type == 7, true);
                }
                else if (type == 1 && stream == 1)
                {
                    status = StatusOf(payload, flags);
                    if ((flags & 1) != 0)
                    {
                        return new RawAnswer(status, "", "", false, false);
                    }
                }
                else if (type == 0 && stream == 1)
                {
                    body.AddRange(payload);
                    if ((flags & 1) != 0)
                    {
                        return new RawAnswer(status, "", Encoding.UTF8.GetString([.. body]), false, false);
                    }
                }
            }
        }
        catch (EndOfStreamException)
        {
            return new RawAnswer(status, "", "", true, true);
        }
    }

    private static string Dechunk(byte[] body)
    {
        var text = new StringBuilder();
        var position = 0;
        while (true)
        {
            var lineEnd = Array.IndexOf(body, (byte)'\n', position);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(body, position, lineEnd - position).Trim(), 16);
            if (size == 0)
            {
                return text.ToString();
            }
            text.Append(Encoding.UTF8.GetString(body, lineEnd + 1, size));
            position = lineEnd + 1 + size + 2;
        }
    }

    private static void Literal(List<byte> block, byte[] name, byte[] value)
    {
        block.Add(0x00);
        Length(block, name.Length);
        block.AddRange(name);
        Length(block, value.Length);
        block.AddRange(value);
    }

    private static void Length(List<byte> block, int length)
    {
        if (length < 127)
        {
            block.Add((byte)length);
            return;
        }
        block.Add(127);
        length -= 127;
        while (length >= 128)
        {
            block.Add((byte)((length & 0x7f) | 0x80));
            length >>= 7;
        }
        block.Add((byte)length);
    }

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>The :status of a response HEADERS frame: Kestrel sends it first, indexed or as a literal with the status name index.</summary>
    private static int StatusOf(byte[] payload, byte flags)
    {
        var offset = (flags & 0x8) != 0 ? 1 : 0;
        offset += (flags & 0x20) != 0 ? 5 : 0;
        var first = payload[offset];
        if ((first & 0x80) != 0)
        {
            return (first & 0x7f) switch
            {
                8 => 200, 9 => 204, 10 => 206, 11 => 304, 12 => 400, 13 => 404, 14 => 500,
                var other => throw new InvalidOperationException("Unexpected indexed status " + other),
            };
        }
        var lengthByte = payload[offset + 1];
        if ((lengthByte & 0x80) != 0 || (lengthByte & 0x7f) != 3)
        {
            throw new InvalidOperationException("Unexpected status encoding");
        }
        return int.Parse(Encoding.ASCII.GetString(payload, offset + 2, 3), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<int> ReadAsync(SslStream tls, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await tls.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static async Task ReadExactlyAsync(SslStream tls, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            await tls.ReadExactlyAsync(buffer, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new EndOfStreamException("connection closed", ex);
        }
    }

    private static int IndexOf(List<byte> data, ReadOnlySpan<byte> pattern)
    {
        for (var i = 0; i + pattern.Length <= data.Count; i++)
        {
            var match = true;
            for (var j = 0; j < pattern.Length && match; j++)
            {
                match = data[i + j] == pattern[j];
            }
            if (match)
            {
                return i;
            }
        }
        return -1;
    }
}
