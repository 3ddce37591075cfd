namespace CasGateway.Mail.Core;

/// <summary>
/// The life of one IMAP or POP3 connection, the same for both protocols: refused while the component is out of
/// service, greeting, the protocol's own pre-login dialogue, then the relay to the mailbox server, and one log
/// event at the end. The protocol classes supply the words.
/// </summary>
public abstract class MailSession
{
    private readonly MailSessionPresence _presence;
    private readonly MailProtocol _protocol;

    protected MailSession(MailProtocol protocol, MailClient client, MailSessionServices services, MailSessionPresence presence)
    {
        _presence = presence;
        _protocol = protocol;
        Client = client;
        Services = services;
        Options = services.Options;
        Limits = new PreLoginLimits(Options);
        Log = new MailSessionLog(protocol, client.RemoteIp);
    }

    protected MailClient Client { get; }

    protected MailSessionServices Services { get; }

    /// <summary>The settings this session runs with.</summary>
    protected MailOptions Options { get; }

    protected PreLoginLimits Limits { get; }

    protected MailSessionLog Log { get; }

    /// <summary>Whether XOAUTH2 / OAUTHBEARER are offered (bearer authentication is configured).</summary>
    protected bool Bearer { get; private set; }

    protected bool LoginAllowed => Client.IsTls || Options.AllowPlainTextLogin;

    /// <summary>The answer to a connection while the component is out of service, before closing it.</summary>
    protected abstract string OutOfServiceText { get; }

    /// <summary>The answer to a connection from an address with too many connections not logged in yet, before closing it.</summary>
    protected abstract string TooManyConnectionsText { get; }

    /// <summary>What the client is told when a drain closes its logged-in session, or null to close in silence.</summary>
    protected abstract string? DrainedText { get; }

    protected abstract string Greeting();

    /// <summary>The last words before closing a session that broke off before login, or null to close in silence.</summary>
    protected abstract string? ClosingText(LineStatus why);

    /// <summary>Serves commands until a login reaches the mailbox server (its connection) or the session ends (null).</summary>
    protected abstract Task<BackendConnection?> PreLoginAsync();

    public async Task RunAsync(ILogger logger)
    {
        try
        {
            if (!_presence.Accepting)
            {
                Log.End(SessionOutcome.OutOfService);
                await Client.SendAsync(OutOfServiceText);
                return;
            }
            BackendConnection? backend;
            using (var place = Services.PreLogin.TryEnter(Client.RemoteEndPoint?.Address))
            {
                if (place is null)
                {
                    Log.End(SessionOutcome.TooManyConnections);
                    Services.Metrics.RecordLoginRefusal(_protocol.ToString(), "connections");
                    await Client.SendAsync(TooManyConnectionsText);
                    return;
                }
                Bearer = await Services.Authenticator.BearerEnabledAsync();
                await Client.SendAsync(Greeting());
                backend = await PreLoginAsync();
            }
            if (backend is not null)
            {
                await using (backend)
                {
                    if (await Splice.RunAsync(Client, backend, Log, _presence))
                    {
                        Log.End(SessionOutcome.ShuttingDown);
                        await SayDrainedAsync();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            Log.End(SessionOutcome.ClientClosed);
        }
        finally
        {
            Log.Tls = Client.IsTls;
            Log.Write(logger);
        }
    }

    /// <summary>Logs in on the user's mailbox server for them; the outcome is recorded in the session log.</summary>
    protected async Task<ProxyAttempt> ProxyAsync(MailUser user, IMailBackendDialect dialect)
    {
        Log.User = user.LoginName;
        Log.Method = user.Method;
        var attempt = await Services.Proxy.ConnectAsync(user, dialect, Log, Client.RemoteEndPoint, Client.Closed);
        if (attempt.Backend is null)
        {
            Log.Fail(attempt.Failure, attempt.Reason);
            if (attempt.Failure == SessionOutcome.TooManySessions)
            {
                Services.Metrics.RecordLoginRefusal(_protocol.ToString(), "sessions");
            }
        }
        else
        {
            Log.LoggedIn();
        }
        return attempt;
    }

    /// <summary>
    /// Records a failed or refused login and waits the failed-attempt delay; true when that was the last attempt
    /// allowed on this connection (across connections, the failed-login limiter counts).
    /// </summary>
    protected Task<bool> LoginFailedAsync(AuthResult result)
    {
        Log.User = result.Claimed;
        Log.Fail(result.Status == AuthStatus.Refused ? SessionOutcome.LoginRefused : SessionOutcome.AuthenticationFailed, result.Problem ?? "refused");
        return Limits.LoginFailedAsync(Client.Closed);
    }

    /// <summary>Ends a session that broke off before login (line too long, silence, shutdown, client gone).</summary>
    protected async Task CloseAsync(LineStatus why)
    {
        if (ClosingText(why) is { } text)
        {
            await Client.SendAsync(text);
        }
        Log.End(why switch
        {
            LineStatus.TooLong => SessionOutcome.LineTooLong,
            LineStatus.IdleTimeout => SessionOutcome.IdleTimeout,
            LineStatus.ShuttingDown => SessionOutcome.ShuttingDown,
            _ => SessionOutcome.ClientClosed,
        });
    }

    private async Task SayDrainedAsync()
    {
        if (DrainedText is not { } text)
        {
            return;
        }
        try
        {
            await Client.SendAsync(text);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The client left at the same moment; the session is over either way.
        }
    }
}
