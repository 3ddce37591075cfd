using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace CasGateway.EndToEnd;

/// <summary>Opens a raw TLS connection with one protocol version and reports what was negotiated (None if refused).</summary>
public static class TlsProbe
{
    public static async Task<SslProtocols> HandshakeAsync(Uri address, SslProtocols protocol, string host = "localhost")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = protocol,
            });
            return tls.SslProtocol;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return SslProtocols.None;
        }
    }
}
