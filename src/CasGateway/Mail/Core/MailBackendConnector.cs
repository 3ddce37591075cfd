using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail.Core;

/// <summary>What the gateway logs in with on a mailbox server, and whether it must start TLS in the protocol first.</summary>
public sealed record BackendCredentials(string LoginName, string Password, SslClientAuthenticationOptions? StartTls, IPEndPoint? Client);

/// <summary>
/// Opens connections to mailbox servers' IMAP/POP3/SMTP endpoints: TCP with a deadline, then TLS from the first byte
/// when configured, the server's certificate checked against pinned thumbprints or the system's trust.
/// </summary>
public sealed class MailBackendConnector(IOptionsMonitor<MailOptions> options)
{
    /// <exception cref="SocketException">The server cannot be reached.</exception>
    /// <exception cref="AuthenticationException">TLS failed.</exception>
    /// <exception cref="OperationCanceledException">The connect timeout passed first.</exception>
    public async Task<BackendConnection> ConnectAsync(DnsEndPoint endpoint, MailBackendTls mode, CancellationToken cancellationToken)
    {
        var backend = options.CurrentValue.Backend;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(backend.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (mode == MailBackendTls.ImplicitTls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    await tls.AuthenticateAsClientAsync(TlsOptions(endpoint.Host), deadline.Token);
                }
                catch
                {
                    await tls.DisposeAsync();
                    throw;
                }
                stream = tls;
            }
            return new BackendConnection(socket, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The privileged login for <paramref name="address"/>'s mailbox on the server at <paramref name="endpoint"/>, with
    /// the client's address to pass on when the configuration says so.
    /// </summary>
    public BackendCredentials CredentialsFor(string address, DnsEndPoint endpoint, IPEndPoint? client, MailBackendTls mode)
    {
        var backend = options.CurrentValue.Backend;
        return new BackendCredentials(
            backend.LoginNameFor(address),
            backend.MasterPassword ?? "",
            mode == MailBackendTls.StartTls ? TlsOptions(endpoint.Host) : null,
            backend.ForwardClientAddress ? client : null);
    }

    private SslClientAuthenticationOptions TlsOptions(string host) => new()
    {
        TargetHost = host,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        RemoteCertificateValidationCallback = ValidateServerCertificate,
    };

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var pinned = options.CurrentValue.Backend.TrustedCertificateThumbprints;
        if (pinned.Count == 0)
        {
            return errors == SslPolicyErrors.None;
        }
        if (certificate is null)
        {
            return false;
        }
        var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return pinned.Contains(thumbprint, StringComparer.OrdinalIgnoreCase);
    }
}
