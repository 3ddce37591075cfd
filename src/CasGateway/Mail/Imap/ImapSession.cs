using CasGateway.Mail.Core;

namespace CasGateway.Mail.Imap;

/// <summary>
/// One IMAP client connection. Before login the gateway answers itself (CAPABILITY, NOOP, ID, LOGOUT, STARTTLS,
/// LOGIN, AUTHENTICATE PLAIN/XOAUTH2/OAUTHBEARER); once the user is authenticated and logged in on their mailbox
/// server, the pending login is answered with the server's OK under the client's tag and bytes are relayed.
/// </summary>
public sealed class ImapSession
{
    private static readonly ImapBackendDialect Dialect = new();
    private readonly MailClient _client;
    private readonly MailSessionServices _services;
    private readonly MailOptions _options;
    private readonly PreLoginLimits _limits;
    private readonly MailSessionLog _log;
    private bool _bearer;

    public ImapSession(MailClient client, MailSessionServices services)
    {
        _client = client;
        _services = services;
        _options = services.Options;
        _limits = new PreLoginLimits(_options);
        _log = new MailSessionLog(MailProtocol.Imap, client.RemoteIp);
    }

    private bool LoginAllowed => _client.IsTls || _options.AllowPlainTextLogin;

    public async Task RunAsync(ILogger logger)
    {
        try
        {
            _bearer = await _services.Authenticator.BearerEnabledAsync();
            await _client.SendAsync($"* OK [CAPABILITY {Capabilities()}] CasGateway IMAP4rev1 proxy ready.\r\n");
            var backend = await PreLoginAsync();
            if (backend is not null)
            {
                await using (backend)
                {
                    await Splice.RunAsync(_client, backend, _log);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            _log.End(SessionOutcome.ClientClosed);
        }
        finally
        {
            _log.Tls = _client.IsTls;
            _log.Write(logger);
        }
    }

    /// <summary>Serves commands until a login reaches the mailbox server (its connection) or the session ends (null).</summary>
    private async Task<BackendConnection?> PreLoginAsync()
    {
        var reader = new ImapCommandReader(_client, _options);
        while (true)
        {
            var read = await reader.ReadAsync();
            switch (read.Status)
            {
                case ImapReadStatus.Broken:
                    await CloseAsync(read.Line);
                    return null;
                case ImapReadStatus.LiteralTooLarge:
                    await _client.SendAsync($"{read.Tag} BAD [TOOBIG] Literal too large before login.\r\n* BYE Closing connection.\r\n");
                    _log.End(SessionOutcome.LiteralTooLarge);
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
                await _client.SendAsync($"* CAPABILITY {Capabilities()}\r\n{tag} OK Pre-login capabilities listed, post-login capabilities have more.\r\n");
                return (false, null);
            case "NOOP":
                await _client.SendAsync($"{tag} OK NOOP completed.\r\n");
                return (false, null);
            case "ID":
                await _client.SendAsync($"* ID (\"name\" \"CasGateway\")\r\n{tag} OK ID completed.\r\n");
                return (false, null);
            case "LOGOUT":
                await _client.SendAsync($"* BYE Logging out.\r\n{tag} OK Logout completed.\r\n");
                _log.End(SessionOutcome.LoggedOut);
                return (true, null);
            case "STARTTLS":
                return (await StartTlsAsync(tag), null);
            case "LOGIN" when !LoginAllowed:
            case "AUTHENTICATE" when !LoginAllowed:
                return (await RefuseAsync(tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."), null);
            case "LOGIN" when command.Arguments.Count == 2:
                return await CompleteLoginAsync(tag, await _services.Authenticator.CheckPasswordAsync(
                    command.Arguments[0], command.Arguments[1], "LOGIN", _client.Closed));
            case "AUTHENTICATE" when command.Arguments.Count is 1 or 2:
                var mechanism = SaslMessages.Parse(command.Arguments[0]);
                if (mechanism is null || (mechanism != SaslMechanism.Plain && !_bearer))
                {
                    return (await RefuseAsync(tag, "NO Unsupported authentication mechanism."), null);
                }
                return await CompleteLoginAsync(tag, await _services.Authenticator.AuthenticateAsync(
                    _client, mechanism.Value, command.Arguments.Count == 2 ? command.Arguments[1] : null, _options));
            case "LOGIN" or "AUTHENTICATE":
                return (await RefuseAsync(tag, "BAD Invalid arguments."), null);
            default:
                return (await RefuseAsync(tag, "BAD Command not permitted before login."), null);
        }
    }

    private async Task<bool> StartTlsAsync(string tag)
    {
        if (_client.IsTls)
        {
            return await RefuseAsync(tag, "BAD TLS is already active.");
        }
        if (LineReader.HasBufferedData(_client.Input))
        {
            // Anything sent after STARTTLS in the same burst would be taken as if it came over TLS (CVE-2011-0411).
            await _client.SendAsync($"{tag} BAD STARTTLS must be the last command before the TLS handshake.\r\n* BYE Closing connection.\r\n");
            _log.End(SessionOutcome.DataAfterStartTls);
            return true;
        }
        await _client.SendAsync($"{tag} OK Begin TLS negotiation now.\r\n");
        if (await _client.UpgradeToTlsAsync(_services.Certificates, _options.PreLoginIdleTimeout))
        {
            return false;
        }
        _log.End(SessionOutcome.TlsFailed);
        return true;
    }

    private async Task<(bool Done, BackendConnection? Backend)> CompleteLoginAsync(string tag, AuthResult result)
    {
        switch (result.Status)
        {
            case AuthStatus.Success:
                var user = result.User!;
                _log.User = user.LoginName;
                _log.Method = user.Method;
                var attempt = await _services.Proxy.ConnectAsync(user, Dialect, _log, _client.Closed);
                if (attempt.Backend is null)
                {
                    _log.Fail(attempt.Failure, attempt.Reason);
                    var code = attempt.IsTemporary ? "UNAVAILABLE" : "AUTHORIZATIONFAILED";
                    await _client.SendAsync($"{tag} NO [{code}] {attempt.ClientMessage}\r\n");
                    return (false, null);
                }
                _log.LoggedIn();
                await _client.SendAsync($"{tag} OK {attempt.SuccessText}\r\n");
                return (true, attempt.Backend);
            case AuthStatus.Failed:
                _log.User = result.Claimed;
                _log.Fail(SessionOutcome.AuthenticationFailed, result.Problem ?? "refused");
                var exhausted = await _limits.LoginFailedAsync(_client.Closed);
                await _client.SendAsync($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
                if (!exhausted)
                {
                    return (false, null);
                }
                await _client.SendAsync("* BYE Too many failed login attempts.\r\n");
                _log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Cancelled:
                await _client.SendAsync($"{tag} BAD Authentication cancelled.\r\n");
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
        await _client.SendAsync($"{tag} {answer}\r\n");
        if (!_limits.BadCommand())
        {
            return false;
        }
        await _client.SendAsync("* BYE Too many invalid commands.\r\n");
        _log.End(SessionOutcome.TooManyBadCommands);
        return true;
    }

    private async Task CloseAsync(LineStatus why)
    {
        switch (why)
        {
            case LineStatus.TooLong:
                await _client.SendAsync("* BAD Line too long.\r\n* BYE Closing connection.\r\n");
                _log.End(SessionOutcome.LineTooLong);
                break;
            case LineStatus.IdleTimeout:
                await _client.SendAsync("* BYE Disconnected for inactivity.\r\n");
                _log.End(SessionOutcome.IdleTimeout);
                break;
            case LineStatus.ShuttingDown:
                await _client.SendAsync("* BYE Server shutting down.\r\n");
                _log.End(SessionOutcome.ShuttingDown);
                break;
            default:
                _log.End(SessionOutcome.ClientClosed);
                break;
        }
    }

    private string Capabilities()
    {
        var capabilities = "IMAP4rev1 SASL-IR ID";
        if (!_client.IsTls)
        {
            capabilities += " STARTTLS";
        }
        if (!LoginAllowed)
        {
            return capabilities + " LOGINDISABLED";
        }
        return capabilities + (_bearer ? " AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER" : " AUTH=PLAIN");
    }
}
