using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CasGateway.EndToEnd.Health;

/// <summary>
/// One HTTP/1.1 connection over TLS, written by hand, for what HttpClient will not do: send a request whose body
/// stays open (a held ActiveSync Ping, an RPC channel) and read the answer the server gives before the body ends.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _tls;

    private RawHttpConnection(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri server, X509Certificate2 expectedCertificate)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var expected = expectedCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        var tls = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
            cert is not null && X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256) == expected);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        return new RawHttpConnection(tcp, tls);
    }

    /// <summary>Sends the head of a request announcing a large body, and the first bytes of that body.</summary>
    public async Task SendHeldRequestAsync(string method, string pathAndQuery, IEnumerable<(string Name, string Value)> headers)
    {
        var head = new StringBuilder($"{method} {pathAndQuery} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1073741824\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        head.Append("\r\n");
        await _tls.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await _tls.WriteAsync(new byte[] { 1, 2, 3, 4 });
        await _tls.FlushAsync();
    }

    /// <summary>Reads the response head: status and headers (names lower-cased).</summary>
    public async Task<(HttpStatusCode Status, Dictionary<string, string> Headers)> ReadResponseHeadAsync(CancellationToken cancellationToken)
    {
        var received = new List<byte>();
        var buffer = new byte[1];
        while (received.Count < 4 || !(received[^4] == '\r' && received[^3] == '\n' && received[^2] == '\r' && received[^1] == '\n'))
        {
            if (await _tls.ReadAsync(buffer, cancellationToken) == 0)
            {
                throw new IOException("The connection closed before a response head: " + Encoding.ASCII.GetString([.. received]));
            }
            received.Add(buffer[0]);
        }
        var lines = Encoding.ASCII.GetString([.. received]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var status = (HttpStatusCode)int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (status, headers);
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _tcp.Dispose();
    }
}
