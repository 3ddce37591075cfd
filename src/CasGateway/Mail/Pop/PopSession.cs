using CasGateway.Mail.Core;

namespace CasGateway.Mail.Pop;

/// <summary>
/// One POP3 client connection. In the AUTHORIZATION state the gateway answers itself (CAPA, NOOP, QUIT, STLS,
/// USER/PASS, AUTH PLAIN/XOAUTH2/OAUTHBEARER); once the user is authenticated and logged in on their mailbox
/// server, the pending PASS/AUTH is answered with the server's +OK and bytes are relayed.
/// </summary>
public sealed class PopSession : MailSession
{
    private static readonly PopBackendDialect Dialect = new();
    private string? _user;

    public PopSession(MailClient client, MailSessionServices services, MailSessionPresence presence)
        : base(MailProtocol.Pop3, client, services, presence)
    {
    }

    protected override string OutOfServiceText => "-ERR [SYS/TEMP] POP3 is out of service on this server; try again.\r\n";

    protected override string TooManyConnectionsText => "-ERR [SYS/TEMP] Too many connections from your address; try again later.\r\n";

    /// <summary>POP3 has no unsolicited responses: a drained session is closed without a word.</summary>
    protected override string? DrainedText => null;

    protected override string Greeting() => "+OK CasGateway POP3 proxy ready.\r\n";

    protected override string? ClosingText(LineStatus why) => why switch
    {
        LineStatus.TooLong => "-ERR Line too long.\r\n",
        LineStatus.IdleTimeout => "-ERR Disconnected for inactivity.\r\n",
        LineStatus.ShuttingDown => "-ERR [SYS/TEMP] Server shutting down.\r\n",
        _ => null,
    };

    protected override async Task<BackendConnection?> PreLoginAsync()
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
            var (done, backend) = await ExecuteAsync(verb, argument);
            if (done)
            {
                return backend;
            }
        }
    }

    /// <summary>Runs one command; <c>Done</c> when the session leaves the AUTHORIZATION state (logged in, or closing).</summary>
    private async Task<(bool Done, BackendConnection? Backend)> ExecuteAsync(string verb, string argument)
    {
        switch (verb)
        {
            case "CAPA":
                await Client.SendAsync("+OK Capability list follows\r\n" + Capabilities() + ".\r\n");
                return (false, null);
            case "NOOP":
                await Client.SendAsync("+OK\r\n");
                return (false, null);
            case "QUIT":
                await Client.SendAsync("+OK Logging out.\r\n");
                Log.End(SessionOutcome.LoggedOut);
                return (true, null);
            case "STLS":
                return (await StartTlsAsync(), null);
            case "AUTH" when argument.Length == 0:
                await Client.SendAsync(Bearer ? "+OK\r\nPLAIN\r\nXOAUTH2\r\nOAUTHBEARER\r\n.\r\n" : "+OK\r\nPLAIN\r\n.\r\n");
                return (false, null);
            case "USER" or "PASS" or "AUTH" when !LoginAllowed:
                return (await RefuseAsync("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."), null);
            case "USER" when argument.Length > 0:
                _user = argument;
                await Client.SendAsync("+OK\r\n");
                return (false, null);
            case "PASS" when _user is not null:
                var user = _user;
                _user = null;
                return await CompleteLoginAsync(await Services.Authenticator.CheckPasswordAsync(Client, MailProtocol.Pop3, user, argument, "USER"));
            case "AUTH":
                var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var mechanism = parts.Length is 1 or 2 ? SaslMessages.Parse(parts[0]) : null;
                if (mechanism is null || (mechanism != SaslMechanism.Plain && !Bearer))
                {
                    return (await RefuseAsync("-ERR Unsupported authentication mechanism."), null);
                }
                return await CompleteLoginAsync(await Services.Authenticator.AuthenticateAsync(
                    Client, MailProtocol.Pop3, mechanism.Value, parts.Length == 2 ? parts[1] : null, Options));
            case "USER" or "PASS":
                return (await RefuseAsync("-ERR Give USER name, then PASS."), null);
            default:
                return (await RefuseAsync("-ERR Unknown command or not logged in."), null);
        }
    }

    private async Task<bool> StartTlsAsync()
    {
        if (Client.IsTls)
        {
            return await RefuseAsync("-ERR TLS is already active.");
        }
        if (LineReader.HasBufferedData(Client.Input))
        {
            // Anything sent after STLS in the same burst would be taken as if it came over TLS (CVE-2011-0411).
            await Client.SendAsync("-ERR STLS must be the last command before the TLS handshake.\r\n");
            Log.End(SessionOutcome.DataAfterStartTls);
            return true;
        }
        await Client.SendAsync("+OK Begin TLS negotiation now.\r\n");
        if (await Client.UpgradeToTlsAsync(Services.Certificates, Options.PreLoginIdleTimeout))
        {
            return false;
        }
        Log.End(SessionOutcome.TlsFailed);
        return true;
    }

    private async Task<(bool Done, BackendConnection? Backend)> CompleteLoginAsync(AuthResult result)
    {
        switch (result.Status)
        {
            case AuthStatus.Success:
                var attempt = await ProxyAsync(result.User!, Dialect);
                if (attempt.Backend is null)
                {
                    var code = attempt.Failure == SessionOutcome.TooManySessions ? "IN-USE" : attempt.IsTemporary ? "SYS/TEMP" : "SYS/PERM";
                    await Client.SendAsync($"-ERR [{code}] {attempt.ClientMessage}\r\n");
                    return (false, null);
                }
                await Client.SendAsync($"+OK {attempt.SuccessText}\r\n");
                return (true, attempt.Backend);
            case AuthStatus.Failed:
                if (!await LoginFailedAsync(result))
                {
                    await Client.SendAsync("-ERR [AUTH] Authentication failed.\r\n");
                    return (false, null);
                }
                await Client.SendAsync("-ERR [AUTH] Authentication failed. Too many failed login attempts, closing.\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Refused:
                // RFC 3206 SYS/TEMP: a temporary refusal, not a verdict on the credentials.
                var text = $"-ERR [SYS/TEMP] Too many failed logins; try again in {result.RetryAfterSeconds} s.";
                if (!await LoginFailedAsync(result))
                {
                    await Client.SendAsync(text + "\r\n");
                    return (false, null);
                }
                await Client.SendAsync(text + " Closing.\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Busy:
                Log.Fail(SessionOutcome.LoginBusy, result.Problem!);
                await Client.SendAsync("-ERR [SYS/TEMP] Server busy; try again.\r\n");
                return (false, null);
            case AuthStatus.Unavailable:
                Log.Fail(SessionOutcome.LocatorUnavailable, result.Problem!);
                await Client.SendAsync("-ERR [SYS/TEMP] The mailbox directory is unavailable; try again later.\r\n");
                return (false, null);
            case AuthStatus.Cancelled:
                await Client.SendAsync("-ERR Authentication cancelled.\r\n");
                return (false, null);
            case AuthStatus.Malformed:
                return (await RefuseAsync("-ERR Invalid SASL response."), null);
            default:
                await CloseAsync(result.Line);
                return (true, null);
        }
    }

    /// <summary>Answers a refused command; true when that was one too many and the connection is closing.</summary>
    private async Task<bool> RefuseAsync(string answer)
    {
        if (!Limits.BadCommand())
        {
            await Client.SendAsync(answer + "\r\n");
            return false;
        }
        await Client.SendAsync(answer + " Too many invalid commands, closing.\r\n");
        Log.End(SessionOutcome.TooManyBadCommands);
        return true;
    }

    private string Capabilities()
    {
        var capabilities = "CAPA\r\n";
        if (LoginAllowed)
        {
            capabilities += Bearer ? "USER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n" : "USER\r\nSASL PLAIN\r\n";
        }
        if (!Client.IsTls)
        {
            capabilities += "STLS\r\n";
        }
        return capabilities + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION CasGateway\r\n";
    }
}
