using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Mail.Core;

/// <summary>The protocol-specific half of the backend login: greeting, STARTTLS if asked, the privileged login.</summary>
public interface IMailBackendDialect
{
    MailProtocol Protocol { get; }

    /// <summary>Logs in; returns the text of the server's success answer (relayed to the client).</summary>
    /// <exception cref="BackendLoginException">The server refused or answered nonsense.</exception>
    Task<string> LoginAsync(BackendConnection backend, BackendCredentials credentials, CancellationToken cancellationToken);
}

/// <summary>A logged-in connection to the user's mailbox server, or why there is none (the reason is for the log).</summary>
public sealed record ProxyAttempt(BackendConnection? Backend, string SuccessText, SessionOutcome Failure, string Reason)
{
    /// <summary>A retry later may succeed (as opposed to: this account has nothing here).</summary>
    public bool IsTemporary => Failure is not (SessionOutcome.NoMailbox or SessionOutcome.NoEndpoint);

    /// <summary>What the client is told: clear, without internal server names.</summary>
    public string ClientMessage => Failure switch
    {
        SessionOutcome.NoMailbox => "No mailbox is hosted here for this account.",
        SessionOutcome.NoEndpoint => "This protocol is not available for this mailbox.",
        SessionOutcome.LocatorUnavailable => "The mailbox directory is unavailable; try again later.",
        SessionOutcome.BackendUnavailable => "The mailbox server is unavailable; try again later.",
        _ => "The mailbox server refused the session; try again later.",
    };

    public static ProxyAttempt Failed(SessionOutcome failure, string reason) => new(null, "", failure, reason);
}

/// <summary>
/// After the front door accepted a user: finds the server holding the active copy of their mailbox (the same
/// locator as the HTTP path), connects to its IMAP/POP3 endpoint and logs in there with the gateway's privileged
/// identity on the user's behalf.
/// </summary>
public sealed class MailProxy(IMailboxLocator locator, MailBackendConnector connector, IOptionsMonitor<MailOptions> options)
{
    public async Task<ProxyAttempt> ConnectAsync(MailUser user, IMailBackendDialect dialect, MailSessionLog log, IPEndPoint? client, CancellationToken cancellationToken)
    {
        MailboxLocation? location;
        try
        {
            location = await locator.LocateAsync(AnchorMailbox.ForSmtp(user.Address), cancellationToken);
        }
        catch (LocatorUnavailableException ex)
        {
            return ProxyAttempt.Failed(SessionOutcome.LocatorUnavailable, "The directory cannot be reached: " + ex.Message);
        }
        if (location?.Server is not { } server)
        {
            return ProxyAttempt.Failed(SessionOutcome.NoMailbox, $"No mailbox on these servers for {user.Address}.");
        }
        log.Mailbox = location.Mailbox.PrimarySmtpAddress;
        log.Server = server.Fqdn;
        var endpoint = dialect.Protocol == MailProtocol.Imap ? server.ImapEndpoint : server.PopEndpoint;
        if (endpoint is null)
        {
            return ProxyAttempt.Failed(SessionOutcome.NoEndpoint, $"Mailbox server {server.Fqdn} has no {(dialect.Protocol == MailProtocol.Imap ? "imapEndpoint" : "popEndpoint")} in the directory.");
        }

        BackendConnection backend;
        try
        {
            backend = await connector.ConnectAsync(endpoint, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or OperationCanceledException)
        {
            return ProxyAttempt.Failed(SessionOutcome.BackendUnavailable, $"Mailbox server {server.Fqdn} cannot be reached: {ex.Message}");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.CurrentValue.Backend.LoginTimeout);
        try
        {
            var text = await dialect.LoginAsync(backend, connector.CredentialsFor(location.Mailbox.PrimarySmtpAddress, endpoint, client), deadline.Token);
            return new ProxyAttempt(backend, text, SessionOutcome.Proxied, "");
        }
        catch (Exception ex) when (ex is BackendLoginException or IOException or OperationCanceledException)
        {
            await backend.DisposeAsync();
            var reason = ex is OperationCanceledException ? "it did not answer in time" : ex.Message;
            return ProxyAttempt.Failed(SessionOutcome.BackendLoginFailed, $"Login to mailbox server {server.Fqdn} failed: {reason}");
        }
    }
}
