using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using CasGateway.Listeners;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace CasGateway.Mail.Core;

/// <summary>
/// The client side of a mail session: Kestrel's connection, read and written through pipes, upgraded to TLS in
/// place when the client asks for STARTTLS (implicit TLS listeners arrive already decrypted by Kestrel).
/// </summary>
public sealed class MailClient : IAsyncDisposable
{
    private static readonly Encoding Utf8 = new UTF8Encoding(false);
    private readonly ConnectionContext _connection;
    private SslStream? _tls;

    public MailClient(ConnectionContext connection, CancellationToken leaveRequested)
    {
        _connection = connection;
        Input = connection.Transport.Input;
        Output = connection.Transport.Output;
        IsTls = connection.Features.Get<ITlsHandshakeFeature>() is not null;
        RemoteEndPoint = connection.RemoteEndPoint is IPEndPoint ip ? new IPEndPoint(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address, ip.Port) : null;
        RemoteIp = RemoteEndPoint?.Address.ToString() ?? connection.RemoteEndPoint?.ToString() ?? "";
        LeaveRequested = leaveRequested;
    }

    public PipeReader Input { get; private set; }

    public PipeWriter Output { get; private set; }

    public bool IsTls { get; private set; }

    /// <summary>The client's address (from the PROXY header when a balancer sent one), IPv4 shown as IPv4.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    public string RemoteIp { get; }

    /// <summary>Signalled when the session should end at its next quiet moment (drain or shutdown).</summary>
    public CancellationToken LeaveRequested { get; }

    /// <summary>Signalled when the connection is gone.</summary>
    public CancellationToken Closed => _connection.ConnectionClosed;

    /// <summary>Sends protocol text (already CR LF terminated) and flushes it.</summary>
    public async ValueTask SendAsync(string text)
    {
        Utf8.GetBytes(text, Output);
        await Output.FlushAsync(Closed);
    }

    /// <summary>Reads one line before login, with the idle timeout and the line-length limit.</summary>
    public async ValueTask<LineRead> ReadLineAsync(int maxLength, TimeSpan idleTimeout)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(LeaveRequested);
        idle.CancelAfter(idleTimeout);
        try
        {
            return await LineReader.ReadLineAsync(Input, maxLength, idle.Token);
        }
        catch (OperationCanceledException)
        {
            return LineRead.Of(LeaveRequested.IsCancellationRequested ? LineStatus.ShuttingDown : LineStatus.IdleTimeout);
        }
        catch (IOException)
        {
            return LineRead.Of(LineStatus.Closed);
        }
    }

    /// <summary>Reads an IMAP literal before login; null when the client went away or fell silent first.</summary>
    public async ValueTask<byte[]?> ReadBytesAsync(int count, TimeSpan idleTimeout)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(LeaveRequested);
        idle.CancelAfter(idleTimeout);
        try
        {
            return await LineReader.ReadBytesAsync(Input, count, idle.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs the server side of a TLS handshake over the connection (after the client's STARTTLS was accepted).
    /// False when the handshake fails; the connection is then unusable.
    /// </summary>
    public async Task<bool> UpgradeToTlsAsync(ServerCertificateStore certificates, TimeSpan timeout)
    {
        var tls = new SslStream(new DuplexPipeStream(_connection.Transport), leaveInnerStreamOpen: false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Closed);
        deadline.CancelAfter(timeout);
        try
        {
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ServerCertificateSelectionCallback = (_, host) => certificates.Select(host),
                },
                deadline.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            await tls.DisposeAsync();
            return false;
        }
        _tls = tls;
        Input = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true, useZeroByteReads: true));
        Output = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
        IsTls = true;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is null)
        {
            return;
        }
        await Input.CompleteAsync();
        try
        {
            await Output.CompleteAsync();
        }
        catch (IOException)
        {
            // The client is gone; nothing left to flush to.
        }
        await _tls.DisposeAsync();
    }
}
