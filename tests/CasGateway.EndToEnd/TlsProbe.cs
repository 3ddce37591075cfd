using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace CasGateway.EndToEnd;

/// <summary>Opens a raw TLS connection with one protocol version and reports what was negotiated (None if refused).</summary>
public static class TlsProbe
{
    /// <summary>
    /// <c>openssl s_client</c> with one version flag (<c>-tls1</c>, <c>-tls1_1</c>) at security level 0, so the client
    /// side offers versions the system policy forbids; returns the whole transcript (stdout and stderr).
    /// </summary>
    public static Task<string> OpenSslHandshakeAsync(Uri address, string versionFlag, string host = "localhost")
        => OpenSslClientAsync(address, host, null, versionFlag, "-cipher", "DEFAULT@SECLEVEL=0");

    /// <summary><c>openssl s_client</c> against <paramref name="address"/> with <paramref name="input"/> sent (null: none); stdout and stderr.</summary>
    public static async Task<string> OpenSslClientAsync(Uri address, string host, string? input, params string[] flags)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["s_client", "-connect", $"{address.Host}:{address.Port}", "-servername", host, .. flags])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            await process.StandardInput.FlushAsync();
        }
        // With -ign_eof the client stays until the server closes; otherwise the end of input ends it.
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        return await output + await error;
    }

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
