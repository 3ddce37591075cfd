using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using CasGateway.Anchoring;
using CasGateway.Location;
using CasGateway.Throttling;
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
        SessionOutcome.TooManySessions => "Too many sessions are open for this account; close one and try again.",
        _ => "The mailbox server refused the session; try again later.",
    };

    public static ProxyAttempt Failed(SessionOutcome failure, string reason) => new(null, "", failure, reason);
}

/// <summary>
/// After the front door accepted a user (or, for inbound SMTP, a recipient): finds the server holding the active
/// copy of their mailbox (the same locator as the HTTP path), connects to its IMAP/POP3/SMTP endpoint and logs in
/// there with the gateway's privileged identity on the user's behalf.
/// </summary>
public sealed class MailProxy(IMailboxLocator locator, MailBackendConnector connector, MailSessionSlots sessions, IOptionsMonitor<MailOptions> options)
{
    /// <summary>For a logged-in user: a place under their session cap, then their mailbox server, logged in there.</summary>
    public async Task<ProxyAttempt> ConnectAsync(MailUser user, IMailBackendDialect dialect, MailSessionLog log, IPEndPoint? client, CancellationToken cancellationToken)
    {
        if (await sessions.TryTakeAsync(user.Address, dialect.Protocol) is not { } slot)
        {
            return ProxyAttempt.Failed(SessionOutcome.TooManySessions,
                $"{user.Address} has {sessions.CapOf(dialect.Protocol)} {dialect.Protocol} sessions open already (Gateway:Throttling:MailSessions).");
        }
        var found = await LocateAsync(user.Address, cancellationToken);
        var attempt = found.Location is { } location
            ? await ConnectToAsync(location, dialect, log, client, cancellationToken)
            : found.Failure!;
        if (attempt.Backend is { } backend)
        {
            backend.Slot = slot;
        }
        else
        {
            await slot.DisposeAsync();
        }
        return attempt;
    }

    /// <summary>Where the active copy of <paramref name="address"/>'s mailbox is, or why there is none on these servers.</summary>
    public async Task<MailboxLookup> LocateAsync(string address, CancellationToken cancellationToken)
    {
        MailboxLocation? location;
        try
        {
            location = await locator.LocateAsync(AnchorMailbox.ForSmtp(address), cancellationToken);
        }
        catch (LocatorUnavailableException ex)
        {
            return new MailboxLookup(null, ProxyAttempt.Failed(SessionOutcome.LocatorUnavailable, "The directory cannot be reached: " + ex.Message));
        }
        return location?.Server is null
            ? new MailboxLookup(null, ProxyAttempt.Failed(SessionOutcome.NoMailbox, $"No mailbox on these servers for {address}."))
            : new MailboxLookup(location, null);
    }

    /// <summary>Connects to the protocol's endpoint on the server holding <paramref name="location"/> and logs in there.</summary>
    public async Task<ProxyAttempt> ConnectToAsync(MailboxLocation location, IMailBackendDialect dialect, MailSessionLog log, IPEndPoint? client, CancellationToken cancellationToken)
    {
        var server = location.Server!;
        log.Mailbox = location.Mailbox.PrimarySmtpAddress;
        log.Server = server.Fqdn;
        var (endpoint, field) = dialect.Protocol switch
        {
            MailProtocol.Imap => (server.ImapEndpoint, "imapEndpoint"),
            MailProtocol.Pop3 => (server.PopEndpoint, "popEndpoint"),
            _ => (server.SmtpEndpoint, "smtpEndpoint"),
        };
        if (endpoint is null)
        {
            return ProxyAttempt.Failed(SessionOutcome.NoEndpoint, $"Mailbox server {server.Fqdn} has no {field} in the directory.");
        }
        var settings = options.CurrentValue;
        var tls = dialect.Protocol == MailProtocol.Smtp ? settings.Smtp.BackendTls : settings.Backend.Tls;

        BackendConnection backend;
        try
        {
            backend = await connector.ConnectAsync(endpoint, tls, cancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or OperationCanceledException)
        {
            return ProxyAttempt.Failed(SessionOutcome.BackendUnavailable, $"Mailbox server {server.Fqdn} cannot be reached: {ex.Message}");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(settings.Backend.LoginTimeout);
        try
        {
            var text = await dialect.LoginAsync(backend, connector.CredentialsFor(location.Mailbox.PrimarySmtpAddress, endpoint, client, tls), deadline.Token);
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

/// <summary>A mailbox found on a server of this organisation, or why there is none (<see cref="Failure"/>).</summary>
public readonly record struct MailboxLookup(MailboxLocation? Location, ProxyAttempt? Failure);
