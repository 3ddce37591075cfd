using System.Net;
using CasGateway.Mail.Core;

namespace CasGateway.Mail.Smtp;

/// <summary>
/// One SMTP client connection, submission or inbound. Until the message itself the gateway speaks SMTP on its own
/// (greeting, EHLO/HELO, STARTTLS, AUTH PLAIN/LOGIN/XOAUTH2/OAUTHBEARER on submission, RSET, NOOP, QUIT); the
/// session to a mailbox server opens after AUTH (submission) or at the first recipient the directory knows
/// (inbound), through <see cref="SmtpBackendDialect"/>. The envelope is then relayed command by command, each
/// command checked and rebuilt (limits, recipients looked up on inbound), and from <c>DATA</c>/<c>BDAT</c> on bytes
/// are spliced both ways: the end of the message is acknowledged by the mailbox server, never by the gateway.
/// </summary>
public sealed class SmtpSession : MailSession
{
    private static readonly string DefaultHostName = Dns.GetHostName();
    private readonly bool _inbound;
    private readonly string _host;
    private string? _helo;
    private MailUser? _user;
    private BackendConnection? _backend;

    /// <summary>Inbound: the MAIL FROM waiting for the first accepted recipient to open the backend session.</summary>
    private SmtpPathCommand? _sender;
    private bool _inTransaction;
    private int _recipients;

    public SmtpSession(MailClient client, MailSessionServices services, MailSessionPresence presence, bool inbound)
        : base(MailProtocol.Smtp, client, services, presence)
    {
        _inbound = inbound;
        _host = Options.Smtp.HostName ?? DefaultHostName;
        if (inbound)
        {
            Log.Method = "ANONYMOUS";
        }
    }

    private enum Next
    {
        Continue,
        Close,
        Splice,
    }

    protected override string OutOfServiceText => $"421 4.3.2 {_host} Service not available, closing transmission channel\r\n";

    /// <summary>The per-source cap on connections not yet logged in (inbound MTAs never log in: Exchange's MaxInboundConnectionPerSource).</summary>
    protected override string TooManyConnectionsText => $"421 4.7.0 {_host} Too many connections from your address; try again later\r\n";

    protected override string? DrainedText => $"421 4.3.2 {_host} Service shutting down, closing transmission channel\r\n";

    protected override string Greeting() => $"220 {_host} CasGateway ESMTP ready\r\n";

    protected override string? ClosingText(LineStatus why) => why switch
    {
        LineStatus.TooLong => "500 5.5.6 Line too long\r\n",
        LineStatus.IdleTimeout => $"421 4.4.2 {_host} Timeout exceeded, closing transmission channel\r\n",
        LineStatus.ShuttingDown => $"421 4.3.2 {_host} Service shutting down, closing transmission channel\r\n",
        _ => null,
    };

    protected override async Task<BackendConnection?> PreLoginAsync()
    {
        var next = Next.Close;
        try
        {
            while (true)
            {
                var line = await Client.ReadLineAsync(Options.MaxLineLength, Options.PreLoginIdleTimeout);
                if (line.Status != LineStatus.Line)
                {
                    await CloseAsync(line.Status);
                    return null;
                }
                var space = line.Text.IndexOf(' ');
                var verb = (space < 0 ? line.Text : line.Text[..space]).ToUpperInvariant();
                var argument = space < 0 ? "" : line.Text[(space + 1)..];
                next = line.Text.Any(char.IsControl)
                    ? await RefuseAsync("501 5.5.2 Syntax error: control characters in the command")
                    : await ExecuteAsync(verb, argument);
                if (next == Next.Splice)
                {
                    return _backend;
                }
                if (next == Next.Close)
                {
                    return null;
                }
            }
        }
        finally
        {
            if (next != Next.Splice && _backend is not null)
            {
                await _backend.DisposeAsync();
            }
        }
    }

    private async Task<Next> ExecuteAsync(string verb, string argument)
    {
        switch (verb)
        {
            case "EHLO" or "HELO":
                return await HelloAsync(verb, argument);
            case "STARTTLS":
                return await StartTlsAsync(argument);
            case "AUTH":
                return await AuthAsync(argument);
            case "MAIL":
                return await MailAsync(argument);
            case "RCPT":
                return await RcptAsync(argument);
            case "DATA" or "BDAT":
                return await DataAsync(verb, argument);
            case "RSET":
                _inTransaction = false;
                _sender = null;
                _recipients = 0;
                return _backend is null ? await SayAsync("250 2.0.0 Ok") : await ForwardAsync("RSET");
            case "NOOP":
                return await SayAsync("250 2.0.0 Ok");
            case "QUIT":
                // With a session open on a mailbox server, that server says goodbye (and logs a clean QUIT).
                if (_backend is null)
                {
                    await Client.SendAsync($"221 2.0.0 {_host} Bye\r\n");
                }
                else if (await ExchangeAsync("QUIT") is { } bye)
                {
                    await Client.SendAsync(bye.Text);
                }
                Log.End(SessionOutcome.LoggedOut);
                return Next.Close;
            case "VRFY":
                return await SayAsync("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
            case "HELP":
                return await SayAsync("214 2.0.0 See RFC 5321");
            default:
                return await RefuseAsync("500 5.5.2 Error: command not recognized");
        }
    }

    private async Task<Next> HelloAsync(string verb, string name)
    {
        if (!SmtpPathCommand.IsHeloName(name))
        {
            return await RefuseAsync("501 5.5.4 Syntax: " + verb + " hostname");
        }
        _helo = name;
        if (_inTransaction)
        {
            // EHLO resets a transaction (RFC 5321 §4.1.4): the mailbox server's too.
            _inTransaction = false;
            _sender = null;
            _recipients = 0;
            if (_backend is not null && await ExchangeAsync("RSET") is null)
            {
                return Next.Close;
            }
        }
        if (verb == "HELO")
        {
            return await SayAsync($"250 {_host}");
        }
        var lines = new List<string>
        {
            $"{_host} Hello [{Client.RemoteIp}]",
            "SIZE " + Options.Smtp.MaxMessageSize,
            "8BITMIME",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "SMTPUTF8",
        };
        if (Options.Smtp.Chunking)
        {
            lines.Add("CHUNKING");
        }
        if (!Client.IsTls)
        {
            lines.Add("STARTTLS");
        }
        if (!_inbound && _user is null && LoginAllowed)
        {
            lines.Add(Bearer ? "AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER" : "AUTH PLAIN LOGIN");
        }
        await Client.SendAsync(string.Concat(lines.Select((line, i) => $"250{(i == lines.Count - 1 ? ' ' : '-')}{line}\r\n")));
        return Next.Continue;
    }

    private async Task<Next> StartTlsAsync(string argument)
    {
        if (Client.IsTls)
        {
            return await RefuseAsync("503 5.5.1 Error: TLS already active");
        }
        if (argument.Length > 0)
        {
            return await RefuseAsync("501 5.5.4 Syntax: STARTTLS");
        }
        if (_inTransaction || _backend is not null)
        {
            return await RefuseAsync("503 5.5.1 Error: MAIL transaction in progress");
        }
        if (LineReader.HasBufferedData(Client.Input))
        {
            // Anything sent after STARTTLS in the same burst would be taken as if it came over TLS (CVE-2011-0411).
            await Client.SendAsync("554 5.5.1 Error: STARTTLS must be the last command before the TLS handshake, closing\r\n");
            Log.End(SessionOutcome.DataAfterStartTls);
            return Next.Close;
        }
        await Client.SendAsync("220 2.0.0 Ready to start TLS\r\n");
        if (!await Client.UpgradeToTlsAsync(Services.Certificates, Options.PreLoginIdleTimeout))
        {
            Log.End(SessionOutcome.TlsFailed);
            return Next.Close;
        }
        // RFC 3207 §4.2: everything learnt before TLS is forgotten; the client starts over with EHLO.
        _helo = null;
        return Next.Continue;
    }

    private async Task<Next> AuthAsync(string argument)
    {
        if (_inbound)
        {
            return await RefuseAsync("503 5.5.1 Error: authentication not enabled");
        }
        if (!LoginAllowed)
        {
            return await RefuseAsync("530 5.7.0 Must issue a STARTTLS command first");
        }
        if (_user is not null)
        {
            return await RefuseAsync("503 5.5.1 Error: already authenticated");
        }
        if (_helo is null)
        {
            return await RefuseAsync("503 5.5.1 Error: send EHLO first");
        }
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (1 or 2))
        {
            return await RefuseAsync("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
        }
        var initial = parts.Length == 2 ? parts[1] : null;
        if (string.Equals(parts[0], "LOGIN", StringComparison.OrdinalIgnoreCase))
        {
            return await CompleteAuthAsync(await LoginMechanismAsync(initial));
        }
        var mechanism = SaslMessages.Parse(parts[0]);
        if (mechanism is null || (mechanism != SaslMechanism.Plain && !Bearer))
        {
            return await RefuseAsync("504 5.5.4 Unrecognized authentication type");
        }
        return await CompleteAuthAsync(await Services.Authenticator.AuthenticateAsync(Client, MailProtocol.Smtp, mechanism.Value, initial, Options, "334 "));
    }

    /// <summary>The LOGIN mechanism: user name and password, each asked for with a base64 prompt.</summary>
    private async Task<AuthResult> LoginMechanismAsync(string? initial)
    {
        var user = initial ?? await PromptAsync("VXNlcm5hbWU6");
        if (user is null or { Length: 0 } || !SaslMessages.TryDecodeBase64(user, out var name))
        {
            return Problem(user);
        }
        var password = await PromptAsync("UGFzc3dvcmQ6");
        if (password is null or { Length: 0 } || !SaslMessages.TryDecodeBase64(password, out var secret))
        {
            return Problem(password);
        }
        return await Services.Authenticator.CheckPasswordAsync(Client, MailProtocol.Smtp, name, secret, "LOGIN");

        AuthResult Problem(string? response) => response switch
        {
            null => new AuthResult(AuthStatus.Broken, Line: LineStatus.Closed),
            "*" => new AuthResult(AuthStatus.Cancelled),
            _ => new AuthResult(AuthStatus.Malformed),
        };
    }

    private async Task<string?> PromptAsync(string challenge)
    {
        await Client.SendAsync("334 " + challenge + "\r\n");
        var line = await Client.ReadLineAsync(Options.MaxLineLength, Options.PreLoginIdleTimeout);
        return line.Status == LineStatus.Line ? line.Text : null;
    }

    private async Task<Next> CompleteAuthAsync(AuthResult result)
    {
        switch (result.Status)
        {
            case AuthStatus.Success:
                var attempt = await ProxyAsync(result.User!, new SmtpBackendDialect(_host, _helo!, result.User!.Address));
                if (attempt.Backend is null)
                {
                    return await SayAsync(attempt.IsTemporary ? "454 4.7.0 " + attempt.ClientMessage : "554 5.7.0 " + attempt.ClientMessage);
                }
                _user = result.User;
                _backend = attempt.Backend;
                return await SayAsync("235 2.7.0 Authentication successful");
            case AuthStatus.Failed:
                if (!await LoginFailedAsync(result))
                {
                    return await SayAsync("535 5.7.8 Error: authentication failed");
                }
                await Client.SendAsync("535 5.7.8 Error: authentication failed\r\n421 4.7.0 Too many failed authentication attempts, closing\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return Next.Close;
            case AuthStatus.Refused:
                // Refused before the password was checked (back-off or lockout): temporary, so clients keep the password.
                if (!await LoginFailedAsync(result))
                {
                    return await SayAsync($"454 4.7.0 Too many failed logins; try again in {result.RetryAfterSeconds} s");
                }
                await Client.SendAsync($"454 4.7.0 Too many failed logins; try again in {result.RetryAfterSeconds} s\r\n421 4.7.0 Too many failed authentication attempts, closing\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return Next.Close;
            case AuthStatus.Busy:
                Log.Fail(SessionOutcome.LoginBusy, result.Problem!);
                return await SayAsync("454 4.7.0 Server busy; try again");
            case AuthStatus.Unavailable:
                Log.Fail(SessionOutcome.LocatorUnavailable, result.Problem!);
                return await SayAsync("454 4.7.0 The mailbox directory is unavailable; try again later");
            case AuthStatus.Cancelled:
                return await SayAsync("501 5.0.0 Authentication cancelled");
            case AuthStatus.Malformed:
                return await RefuseAsync("501 5.5.2 Error: invalid authentication response");
            default:
                await CloseAsync(result.Line);
                return Next.Close;
        }
    }

    private async Task<Next> MailAsync(string argument)
    {
        if (_helo is null)
        {
            return await RefuseAsync("503 5.5.1 Error: send HELO/EHLO first");
        }
        if (!_inbound && _user is null)
        {
            return await RefuseAsync("530 5.7.0 Authentication required");
        }
        if (_inTransaction)
        {
            return await RefuseAsync("503 5.5.1 Error: nested MAIL command");
        }
        if (SmtpPathCommand.Parse("MAIL", argument) is not { } mail)
        {
            return await RefuseAsync("501 5.5.4 Syntax: MAIL FROM:<address>");
        }
        switch (mail.DeclaredSize)
        {
            case -1:
                return await RefuseAsync("501 5.5.4 Syntax: SIZE=number");
            case { } size when size > Options.Smtp.MaxMessageSize:
                return await SayAsync("552 5.3.4 Message size exceeds fixed maximum message size");
        }
        _recipients = 0;
        if (_backend is null)
        {
            // Inbound: held until a recipient tells which mailbox server the session goes to.
            _sender = mail;
            _inTransaction = true;
            return await SayAsync("250 2.1.0 Ok");
        }
        var reply = await ExchangeAsync(mail.Line);
        if (reply is null)
        {
            return Next.Close;
        }
        _inTransaction = reply.IsPositive;
        await Client.SendAsync(reply.Text);
        return Next.Continue;
    }

    private async Task<Next> RcptAsync(string argument)
    {
        if (!_inTransaction)
        {
            return await RefuseAsync("503 5.5.1 Error: need MAIL command");
        }
        if (SmtpPathCommand.Parse("RCPT", argument) is not { } rcpt)
        {
            return await RefuseAsync("501 5.5.4 Syntax: RCPT TO:<address>");
        }
        if (_recipients >= Options.Smtp.MaxRecipients)
        {
            return await SayAsync("452 4.5.3 Error: too many recipients");
        }
        if (_inbound && await CheckRecipientAsync(rcpt) is { } answered)
        {
            return answered;
        }
        var reply = await ExchangeAsync(rcpt.Line);
        if (reply is null)
        {
            return Next.Close;
        }
        if (reply.IsPositive)
        {
            _recipients++;
            Log.Recipients++;
        }
        await Client.SendAsync(reply.Text);
        return Next.Continue;
    }

    /// <summary>
    /// Inbound: whether the recipient is one of the organisation's mailboxes (the locator decides, not a mailbox
    /// server's bounce), and for the first one the session to the server holding its active database. Null when the
    /// recipient goes on to that server; otherwise the client has been answered and this is what comes next.
    /// </summary>
    private async Task<Next?> CheckRecipientAsync(SmtpPathCommand rcpt)
    {
        var domains = Options.Smtp.AcceptedDomains;
        if (domains.Count > 0 && !domains.Contains(rcpt.Domain, StringComparer.OrdinalIgnoreCase))
        {
            NoteRefused($"{rcpt.Domain} is not an accepted domain");
            await Client.SendAsync("550 5.7.54 Unable to relay recipient in non-accepted domain\r\n");
            return Next.Continue;
        }
        var found = await Services.Proxy.LocateAsync(rcpt.Path, Client.Closed);
        if (found.Location is not { } location)
        {
            var failure = found.Failure!;
            if (failure.Failure == SessionOutcome.LocatorUnavailable)
            {
                Log.Fail(failure.Failure, failure.Reason);
                await Client.SendAsync("451 4.4.3 Directory unavailable, try again later\r\n");
            }
            else
            {
                NoteRefused("unknown recipient");
                await Client.SendAsync($"550 5.1.1 <{rcpt.Path}>: Recipient address rejected: User unknown\r\n");
            }
            return Next.Continue;
        }
        if (_backend is not null)
        {
            return null;
        }
        var attempt = await Services.Proxy.ConnectToAsync(location, new SmtpBackendDialect(_host, _helo!, null), Log, Client.RemoteEndPoint, Client.Closed);
        if (attempt.Backend is null)
        {
            Log.Fail(attempt.Failure, attempt.Reason);
            await Client.SendAsync(attempt.IsTemporary
                ? "451 4.4.1 Mailbox server unavailable, try again later\r\n"
                : "550 5.1.1 Recipient address rejected: " + attempt.ClientMessage + "\r\n");
            return Next.Continue;
        }
        _backend = attempt.Backend;
        var sender = await ExchangeAsync(_sender!.Line);
        if (sender is not null && sender.IsPositive)
        {
            Log.LoggedIn();
            return null;
        }
        // The mailbox server refused the sender (or broke off): the client hears its answer on this recipient.
        await _backend.DisposeAsync();
        _backend = null;
        if (sender is null)
        {
            return Next.Close;
        }
        Log.Fail(SessionOutcome.BackendLoginFailed, "The mailbox server refused the sender: " + sender.Summary);
        await Client.SendAsync(sender.Text);
        return Next.Continue;
    }

    private void NoteRefused(string reason)
    {
        if (Log.Outcome != SessionOutcome.Proxied)
        {
            Log.Fail(SessionOutcome.UnknownRecipient, reason);
        }
    }

    private async Task<Next> DataAsync(string verb, string argument)
    {
        if (!_inTransaction)
        {
            return await RefuseAsync("503 5.5.1 Error: need MAIL command");
        }
        if (_recipients == 0 || _backend is null)
        {
            return await RefuseAsync("554 5.5.1 Error: no valid recipients");
        }
        string line;
        if (verb == "DATA")
        {
            if (argument.Length > 0)
            {
                return await RefuseAsync("501 5.5.4 Syntax: DATA");
            }
            line = "DATA";
        }
        else
        {
            var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!Options.Smtp.Chunking)
            {
                return await RefuseAsync("500 5.5.2 Error: command not recognized");
            }
            if (parts.Length is not (1 or 2) || !parts[0].All(char.IsAsciiDigit) || parts[0].Length > 18
                || (parts.Length == 2 && !string.Equals(parts[1], "LAST", StringComparison.OrdinalIgnoreCase)))
            {
                return await RefuseAsync("501 5.5.4 Syntax: BDAT count [LAST]");
            }
            line = "BDAT " + string.Join(' ', parts);
        }
        // From here on the mailbox server answers the message itself: bytes are spliced both ways.
        await _backend.WriteLineAsync(line, Client.Closed);
        return Next.Splice;
    }

    /// <summary>Sends a command to the mailbox server and relays its answer to the client.</summary>
    private async Task<Next> ForwardAsync(string command)
    {
        var reply = await ExchangeAsync(command);
        if (reply is null)
        {
            return Next.Close;
        }
        await Client.SendAsync(reply.Text);
        return Next.Continue;
    }

    /// <summary>The mailbox server's answer to a command; null when it broke off (the client has been told, with a 421).</summary>
    private async Task<SmtpReply?> ExchangeAsync(string command)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Client.Closed);
        deadline.CancelAfter(Services.Options.Backend.LoginTimeout);
        try
        {
            await _backend!.WriteLineAsync(command, deadline.Token);
            return await SmtpReply.ReadAsync(_backend, deadline.Token);
        }
        catch (Exception ex) when (ex is BackendLoginException or IOException or OperationCanceledException)
        {
            var reason = ex is OperationCanceledException ? "it did not answer in time" : ex.Message;
            Log.Fail(SessionOutcome.BackendUnavailable, $"The mailbox server {Log.Server} broke off: {reason}");
            await Client.SendAsync($"421 4.4.2 {_host} Lost the connection to the mailbox server, try again later\r\n");
            return null;
        }
    }

    private async Task<Next> SayAsync(string answer)
    {
        await Client.SendAsync(answer + "\r\n");
        return Next.Continue;
    }

    /// <summary>Answers a refused command; closes the connection when that was one too many.</summary>
    private async Task<Next> RefuseAsync(string answer)
    {
        await Client.SendAsync(answer + "\r\n");
        if (!Limits.BadCommand())
        {
            return Next.Continue;
        }
        await Client.SendAsync($"421 4.7.0 {_host} Too many errors, closing transmission channel\r\n");
        Log.End(SessionOutcome.TooManyBadCommands);
        return Next.Close;
    }
}
