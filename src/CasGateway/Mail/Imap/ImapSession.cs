using CasGateway.Mail.Core;

namespace CasGateway.Mail.Imap;

/// <summary>
/// One IMAP client connection. Before login the gateway answers itself (CAPABILITY, NOOP, ID, LOGOUT, STARTTLS,
/// LOGIN, AUTHENTICATE PLAIN/XOAUTH2/OAUTHBEARER); once the user is authenticated and logged in on their mailbox
/// server, the pending login is answered with the server's OK under the client's tag and bytes are relayed.
/// </summary>
public sealed class ImapSession : MailSession
{
    private static readonly ImapBackendDialect Dialect = new();
    public ImapSession(MailClient client, MailSessionServices services, MailSessionPresence presence)
        : base(MailProtocol.Imap, client, services, presence)
    {
    }

    protected override string OutOfServiceText => "* BYE [UNAVAILABLE] IMAP is out of service on this server; try again.\r\n";

    protected override string TooManyConnectionsText => "* BYE [UNAVAILABLE] Too many connections from your address; try again later.\r\n";

    protected override string? DrainedText => "* BYE [UNAVAILABLE] Server going out of service; reconnect to continue.\r\n";

    protected override string Greeting() => $"* OK [CAPABILITY {Capabilities()}] CasGateway IMAP4rev1 proxy ready.\r\n";

    protected override string? ClosingText(LineStatus why) => why switch
    {
        LineStatus.TooLong => "* BAD Line too long.\r\n* BYE Closing connection.\r\n",
        LineStatus.IdleTimeout => "* BYE Disconnected for inactivity.\r\n",
        LineStatus.ShuttingDown => "* BYE Server shutting down.\r\n",
        _ => null,
    };

    protected override async Task<BackendConnection?> PreLoginAsync()
    {
        var reader = new ImapCommandReader(Client, Options);
        while (true)
        {
            var read = await reader.ReadAsync();
            switch (read.Status)
            {
                case ImapReadStatus.Broken:
                    await CloseAsync(read.Line);
                    return null;
                case ImapReadStatus.LiteralTooLarge:
                    await Client.SendAsync($"{read.Tag} BAD [TOOBIG] Literal too large before login.\r\n* BYE Closing connection.\r\n");
                    Log.End(SessionOutcome.LiteralTooLarge);
                    return null;
                case ImapReadStatus.Invalid:
                    if (await RefuseAsync(read.Tag, "BAD Invalid command syntax."))
                    {
                        return null;
                    }
                    continue;
            }
            var command = read.Command!;
            var (done, backend) = await ExecuteAsync(command);
            if (done)
            {
                return backend;
            }
        }
    }

    /// <summary>Runs one command; <c>Done</c> when the session leaves the pre-login state (logged in, or closing).</summary>
    private async Task<(bool Done, BackendConnection? Backend)> ExecuteAsync(ImapCommand command)
    {
        var tag = command.Tag;
        switch (command.Name)
        {
            case "CAPABILITY":
                await Client.SendAsync($"* CAPABILITY {Capabilities()}\r\n{tag} OK Pre-login capabilities listed, post-login capabilities have more.\r\n");
                return (false, null);
            case "NOOP":
                await Client.SendAsync($"{tag} OK NOOP completed.\r\n");
                return (false, null);
            case "ID":
                await Client.SendAsync($"* ID (\"name\" \"CasGateway\")\r\n{tag} OK ID completed.\r\n");
                return (false, null);
            case "LOGOUT":
                await Client.SendAsync($"* BYE Logging out.\r\n{tag} OK Logout completed.\r\n");
                Log.End(SessionOutcome.LoggedOut);
                return (true, null);
            case "STARTTLS":
                return (await StartTlsAsync(tag), null);
            case "LOGIN" when !LoginAllowed:
            case "AUTHENTICATE" when !LoginAllowed:
                return (await RefuseAsync(tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."), null);
            case "LOGIN" when command.Arguments.Count == 2:
                return await CompleteLoginAsync(tag, await Services.Authenticator.CheckPasswordAsync(
                    Client, MailProtocol.Imap, command.Arguments[0], command.Arguments[1], "LOGIN"));
            case "AUTHENTICATE" when command.Arguments.Count is 1 or 2:
                var mechanism = SaslMessages.Parse(command.Arguments[0]);
                if (mechanism is null || (mechanism != SaslMechanism.Plain && !Bearer))
                {
                    return (await RefuseAsync(tag, "NO Unsupported authentication mechanism."), null);
                }
                return await CompleteLoginAsync(tag, await Services.Authenticator.AuthenticateAsync(
                    Client, MailProtocol.Imap, mechanism.Value, command.Arguments.Count == 2 ? command.Arguments[1] : null, Options));
            case "LOGIN" or "AUTHENTICATE":
                return (await RefuseAsync(tag, "BAD Invalid arguments."), null);
            default:
                return (await RefuseAsync(tag, "BAD Command not permitted before login."), null);
        }
    }

    private async Task<bool> StartTlsAsync(string tag)
    {
        if (Client.IsTls)
        {
            return await RefuseAsync(tag, "BAD TLS is already active.");
        }
        if (LineReader.HasBufferedData(Client.Input))
        {
            // Anything sent after STARTTLS in the same burst would be taken as if it came over TLS (CVE-2011-0411).
            await Client.SendAsync($"{tag} BAD STARTTLS must be the last command before the TLS handshake.\r\n* BYE Closing connection.\r\n");
            Log.End(SessionOutcome.DataAfterStartTls);
            return true;
        }
        await Client.SendAsync($"{tag} OK Begin TLS negotiation now.\r\n");
        if (await Client.UpgradeToTlsAsync(Services.Certificates, Options.PreLoginIdleTimeout))
        {
            return false;
        }
        Log.End(SessionOutcome.TlsFailed);
        return true;
    }

    private async Task<(bool Done, BackendConnection? Backend)> CompleteLoginAsync(string tag, AuthResult result)
    {
        switch (result.Status)
        {
            case AuthStatus.Success:
                var attempt = await ProxyAsync(result.User!, Dialect);
                if (attempt.Backend is null)
                {
                    var code = attempt.Failure == SessionOutcome.TooManySessions ? "LIMIT" : attempt.IsTemporary ? "UNAVAILABLE" : "AUTHORIZATIONFAILED";
                    await Client.SendAsync($"{tag} NO [{code}] {attempt.ClientMessage}\r\n");
                    return (false, null);
                }
                await Client.SendAsync($"{tag} OK {attempt.SuccessText}\r\n");
                return (true, attempt.Backend);
            case AuthStatus.Failed:
                var exhausted = await LoginFailedAsync(result);
                await Client.SendAsync($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
                if (!exhausted)
                {
                    return (false, null);
                }
                await Client.SendAsync("* BYE Too many failed login attempts.\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Refused:
                // RFC 5530 UNAVAILABLE: a temporary refusal, so clients keep the saved password and try again later.
                var closing = await LoginFailedAsync(result);
                await Client.SendAsync($"{tag} NO [UNAVAILABLE] Too many failed logins; try again in {result.RetryAfterSeconds} s.\r\n");
                if (!closing)
                {
                    return (false, null);
                }
                await Client.SendAsync("* BYE Too many failed login attempts.\r\n");
                Log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Busy:
                Log.Fail(SessionOutcome.LoginBusy, result.Problem!);
                await Client.SendAsync($"{tag} NO [UNAVAILABLE] Server busy; try again.\r\n");
                return (false, null);
            case AuthStatus.Unavailable:
                Log.Fail(SessionOutcome.LocatorUnavailable, result.Problem!);
                await Client.SendAsync($"{tag} NO [UNAVAILABLE] The mailbox directory is unavailable; try again later.\r\n");
                return (false, null);
            case AuthStatus.Cancelled:
                await Client.SendAsync($"{tag} BAD Authentication cancelled.\r\n");
                return (false, null);
            case AuthStatus.Malformed:
                return (await RefuseAsync(tag, "BAD Invalid SASL response."), null);
            default:
                await CloseAsync(result.Line);
                return (true, null);
        }
    }

    /// <summary>Answers a refused command; true when that was one too many and the connection is closing.</summary>
    private async Task<bool> RefuseAsync(string tag, string answer)
    {
        await Client.SendAsync($"{tag} {answer}\r\n");
        if (!Limits.BadCommand())
        {
            return false;
        }
        await Client.SendAsync("* BYE Too many invalid commands.\r\n");
        Log.End(SessionOutcome.TooManyBadCommands);
        return true;
    }

    private string Capabilities()
    {
        var capabilities = "IMAP4rev1 SASL-IR ID";
        if (!Client.IsTls)
        {
            capabilities += " STARTTLS";
        }
        if (!LoginAllowed)
        {
            return capabilities + " LOGINDISABLED";
        }
        return capabilities + (Bearer ? " AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER" : " AUTH=PLAIN");
    }
}
