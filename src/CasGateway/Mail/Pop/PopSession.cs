using CasGateway.Mail.Core;

namespace CasGateway.Mail.Pop;

/// <summary>
/// One POP3 client connection. In the AUTHORIZATION state the gateway answers itself (CAPA, NOOP, QUIT, STLS,
/// USER/PASS, AUTH PLAIN/XOAUTH2/OAUTHBEARER); once the user is authenticated and logged in on their mailbox
/// server, the pending PASS/AUTH is answered with the server's +OK and bytes are relayed.
/// </summary>
public sealed class PopSession
{
    private static readonly PopBackendDialect Dialect = new();
    private readonly MailClient _client;
    private readonly MailSessionServices _services;
    private readonly MailOptions _options;
    private readonly PreLoginLimits _limits;
    private readonly MailSessionLog _log;
    private bool _bearer;
    private string? _user;

    public PopSession(MailClient client, MailSessionServices services)
    {
        _client = client;
        _services = services;
        _options = services.Options;
        _limits = new PreLoginLimits(_options);
        _log = new MailSessionLog(MailProtocol.Pop3, client.RemoteIp);
    }

    private bool LoginAllowed => _client.IsTls || _options.AllowPlainTextLogin;

    public async Task RunAsync(ILogger logger)
    {
        try
        {
            _bearer = await _services.Authenticator.BearerEnabledAsync();
            await _client.SendAsync("+OK CasGateway POP3 proxy ready.\r\n");
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
        while (true)
        {
            var line = await _client.ReadLineAsync(_options.MaxLineLength, _options.PreLoginIdleTimeout);
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
                await _client.SendAsync("+OK Capability list follows\r\n" + Capabilities() + ".\r\n");
                return (false, null);
            case "NOOP":
                await _client.SendAsync("+OK\r\n");
                return (false, null);
            case "QUIT":
                await _client.SendAsync("+OK Logging out.\r\n");
                _log.End(SessionOutcome.LoggedOut);
                return (true, null);
            case "STLS":
                return (await StartTlsAsync(), null);
            case "AUTH" when argument.Length == 0:
                await _client.SendAsync(_bearer ? "+OK\r\nPLAIN\r\nXOAUTH2\r\nOAUTHBEARER\r\n.\r\n" : "+OK\r\nPLAIN\r\n.\r\n");
                return (false, null);
            case "USER" or "PASS" or "AUTH" when !LoginAllowed:
                return (await RefuseAsync("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."), null);
            case "USER" when argument.Length > 0:
                _user = argument;
                await _client.SendAsync("+OK\r\n");
                return (false, null);
            case "PASS" when _user is not null:
                var user = _user;
                _user = null;
                return await CompleteLoginAsync(await _services.Authenticator.CheckPasswordAsync(user, argument, "USER", _client.Closed));
            case "AUTH":
                var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var mechanism = parts.Length is 1 or 2 ? SaslMessages.Parse(parts[0]) : null;
                if (mechanism is null || (mechanism != SaslMechanism.Plain && !_bearer))
                {
                    return (await RefuseAsync("-ERR Unsupported authentication mechanism."), null);
                }
                return await CompleteLoginAsync(await _services.Authenticator.AuthenticateAsync(
                    _client, mechanism.Value, parts.Length == 2 ? parts[1] : null, _options));
            case "USER" or "PASS":
                return (await RefuseAsync("-ERR Give USER name, then PASS."), null);
            default:
                return (await RefuseAsync("-ERR Unknown command or not logged in."), null);
        }
    }

    private async Task<bool> StartTlsAsync()
    {
        if (_client.IsTls)
        {
            return await RefuseAsync("-ERR TLS is already active.");
        }
        if (LineReader.HasBufferedData(_client.Input))
        {
            // Anything sent after STLS in the same burst would be taken as if it came over TLS (CVE-2011-0411).
            await _client.SendAsync("-ERR STLS must be the last command before the TLS handshake.\r\n");
            _log.End(SessionOutcome.DataAfterStartTls);
            return true;
        }
        await _client.SendAsync("+OK Begin TLS negotiation now.\r\n");
        if (await _client.UpgradeToTlsAsync(_services.Certificates, _options.PreLoginIdleTimeout))
        {
            return false;
        }
        _log.End(SessionOutcome.TlsFailed);
        return true;
    }

    private async Task<(bool Done, BackendConnection? Backend)> CompleteLoginAsync(AuthResult result)
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
                    await _client.SendAsync($"-ERR [{(attempt.IsTemporary ? "SYS/TEMP" : "SYS/PERM")}] {attempt.ClientMessage}\r\n");
                    return (false, null);
                }
                _log.LoggedIn();
                await _client.SendAsync($"+OK {attempt.SuccessText}\r\n");
                return (true, attempt.Backend);
            case AuthStatus.Failed:
                _log.User = result.Claimed;
                _log.Fail(SessionOutcome.AuthenticationFailed, result.Problem ?? "refused");
                if (!await _limits.LoginFailedAsync(_client.Closed))
                {
                    await _client.SendAsync("-ERR [AUTH] Authentication failed.\r\n");
                    return (false, null);
                }
                await _client.SendAsync("-ERR [AUTH] Authentication failed. Too many failed login attempts, closing.\r\n");
                _log.End(SessionOutcome.TooManyFailedAttempts);
                return (true, null);
            case AuthStatus.Cancelled:
                await _client.SendAsync("-ERR Authentication cancelled.\r\n");
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
        if (!_limits.BadCommand())
        {
            await _client.SendAsync(answer + "\r\n");
            return false;
        }
        await _client.SendAsync(answer + " Too many invalid commands, closing.\r\n");
        _log.End(SessionOutcome.TooManyBadCommands);
        return true;
    }

    private async Task CloseAsync(LineStatus why)
    {
        switch (why)
        {
            case LineStatus.TooLong:
                await _client.SendAsync("-ERR Line too long.\r\n");
                _log.End(SessionOutcome.LineTooLong);
                break;
            case LineStatus.IdleTimeout:
                await _client.SendAsync("-ERR Disconnected for inactivity.\r\n");
                _log.End(SessionOutcome.IdleTimeout);
                break;
            case LineStatus.ShuttingDown:
                await _client.SendAsync("-ERR [SYS/TEMP] Server shutting down.\r\n");
                _log.End(SessionOutcome.ShuttingDown);
                break;
            default:
                _log.End(SessionOutcome.ClientClosed);
                break;
        }
    }

    private string Capabilities()
    {
        var capabilities = "CAPA\r\n";
        if (LoginAllowed)
        {
            capabilities += _bearer ? "USER\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n" : "USER\r\nSASL PLAIN\r\n";
        }
        if (!_client.IsTls)
        {
            capabilities += "STLS\r\n";
        }
        return capabilities + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION CasGateway\r\n";
    }
}
