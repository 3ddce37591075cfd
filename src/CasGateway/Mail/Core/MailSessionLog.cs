using System.Diagnostics;

namespace CasGateway.Mail.Core;

/// <summary>The mail protocols of the front door.</summary>
public enum MailProtocol
{
    Imap,
    Pop3,
    Smtp,
}

/// <summary>How a session ended.</summary>
public enum SessionOutcome
{
    /// <summary>Logged in and relayed until one side closed.</summary>
    Proxied,

    /// <summary>LOGOUT / QUIT before logging in.</summary>
    LoggedOut,

    /// <summary>The client went away before logging in.</summary>
    ClientClosed,

    /// <summary>A login was refused (wrong password, refused token) and none succeeded.</summary>
    AuthenticationFailed,

    /// <summary>Too many failed logins on this connection.</summary>
    TooManyFailedAttempts,

    /// <summary>A login was refused before its password was checked: back-off or lockout of the account or source.</summary>
    LoginRefused,

    /// <summary>A login could not be checked: password hashing at capacity.</summary>
    LoginBusy,

    /// <summary>Refused at connection: too many connections from the client's address not logged in yet.</summary>
    TooManyConnections,

    /// <summary>Authenticated, but the user already holds as many sessions of this protocol as allowed.</summary>
    TooManySessions,

    /// <summary>Too many invalid or refused commands before login.</summary>
    TooManyBadCommands,

    LineTooLong,

    LiteralTooLarge,

    IdleTimeout,

    TlsFailed,

    /// <summary>Commands pipelined after STARTTLS (a plain-text injection attempt).</summary>
    DataAfterStartTls,

    /// <summary>Closed by a drain or shutdown (before login, or while quiet after it).</summary>
    ShuttingDown,

    /// <summary>Refused at connection: the protocol (or the whole node) is out of service.</summary>
    OutOfService,

    /// <summary>Authenticated, but the directory has no on-premises mailbox for the user.</summary>
    NoMailbox,

    /// <summary>The mailbox's server has no endpoint for this protocol.</summary>
    NoEndpoint,

    LocatorUnavailable,

    BackendUnavailable,

    BackendLoginFailed,

    /// <summary>SMTP: recipients were refused as unknown (or outside the accepted domains) and none was accepted.</summary>
    UnknownRecipient,
}

/// <summary>
/// Everything known about one session, written as a single structured event when it ends: who, from where, to
/// which mailbox server, bytes each way, how long and how it ended. Never holds passwords or tokens.
/// </summary>
public sealed partial class MailSessionLog(MailProtocol protocol, string clientIp)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private SessionOutcome? _failure;

    public string? User { get; set; }

    public string? Method { get; set; }

    public string? Mailbox { get; set; }

    public string? Server { get; set; }

    public bool Tls { get; set; }

    public long BytesFromClient { get; set; }

    public long BytesToClient { get; set; }

    /// <summary>SMTP: recipients the gateway accepted before the relay took over (never their addresses).</summary>
    public int Recipients { get; set; }

    public SessionOutcome Outcome { get; private set; } = SessionOutcome.ClientClosed;

    public string? Reason { get; private set; }

    /// <summary>How the session ended, unless an earlier failure that explains it more is already recorded.</summary>
    public void End(SessionOutcome outcome)
    {
        Outcome = _failure is { } failure && outcome is SessionOutcome.LoggedOut or SessionOutcome.ClientClosed ? failure : outcome;
    }

    /// <summary>Records a failure the client was told about (the session may go on, e.g. to log out).</summary>
    public void Fail(SessionOutcome outcome, string reason)
    {
        _failure = outcome;
        Outcome = outcome;
        Reason = reason;
    }

    /// <summary>A successful login clears earlier failures.</summary>
    public void LoggedIn()
    {
        _failure = null;
        Reason = null;
        Outcome = SessionOutcome.Proxied;
    }

    public void Write(ILogger logger)
    {
        // Server-side failures, and logins sent in clear text (allowed by configuration), deserve an operator's look.
        var level = Outcome is SessionOutcome.NoMailbox or SessionOutcome.NoEndpoint or SessionOutcome.LocatorUnavailable
            or SessionOutcome.BackendUnavailable or SessionOutcome.BackendLoginFailed
            || (Outcome == SessionOutcome.Proxied && !Tls)
            ? LogLevel.Warning
            : LogLevel.Information;
        var duration = (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
        if (protocol == MailProtocol.Smtp)
        {
            LogSmtpSession(logger, level, protocol, clientIp, User, Method, Mailbox, Server, Tls, Recipients, BytesFromClient, BytesToClient,
                duration, Outcome, Reason);
            return;
        }
        LogSession(logger, level, protocol, clientIp, User, Method, Mailbox, Server, Tls, BytesFromClient, BytesToClient,
            duration, Outcome, Reason);
    }

    [LoggerMessage(Message = "{Protocol} session from {ClientIp} user {User} ({Method}) mailbox {Mailbox} on {BackendServer}, TLS {Tls}: "
        + "{BytesFromClient} bytes from client, {BytesToClient} bytes to client, {DurationMs} ms, {Outcome} {Reason}")]
    private static partial void LogSession(ILogger logger, LogLevel level, MailProtocol protocol, string clientIp, string? user, string? method,
        string? mailbox, string? backendServer, bool tls, long bytesFromClient, long bytesToClient, long durationMs, SessionOutcome outcome, string? reason);

    [LoggerMessage(Message = "{Protocol} session from {ClientIp} user {User} ({Method}) mailbox {Mailbox} on {BackendServer}, TLS {Tls}: "
        + "{Recipients} recipients, {BytesFromClient} bytes from client, {BytesToClient} bytes to client, {DurationMs} ms, {Outcome} {Reason}")]
    private static partial void LogSmtpSession(ILogger logger, LogLevel level, MailProtocol protocol, string clientIp, string? user, string? method,
        string? mailbox, string? backendServer, bool tls, int recipients, long bytesFromClient, long bytesToClient, long durationMs, SessionOutcome outcome, string? reason);
}
