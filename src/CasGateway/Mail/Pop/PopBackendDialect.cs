using CasGateway.Mail.Core;

namespace CasGateway.Mail.Pop;

/// <summary>
/// The gateway's POP3 login on a mailbox server: waits for the greeting, STLS when configured, the client's address
/// with <c>XCLIENT</c> when forwarded and the greeting offers it (Dovecot's does to trusted networks), then
/// <c>USER user*master</c> and <c>PASS password</c> (Dovecot's master-user login, or whatever the login format says).
/// </summary>
public sealed class PopBackendDialect : IMailBackendDialect
{
    public MailProtocol Protocol => MailProtocol.Pop3;

    public async Task<string> LoginAsync(BackendConnection backend, BackendCredentials credentials, CancellationToken cancellationToken)
    {
        var greeting = await ExpectOkAsync(backend, "greeting", cancellationToken);
        if (credentials.StartTls is { } tls)
        {
            await backend.WriteLineAsync("STLS", cancellationToken);
            await ExpectOkAsync(backend, "STLS", cancellationToken);
            await backend.UpgradeToTlsAsync(tls, cancellationToken);
        }
        // Dovecot offers XCLIENT in its greeting's response code, to trusted networks only.
        if (credentials.Client is { } client && greeting.StartsWith("[XCLIENT]", StringComparison.OrdinalIgnoreCase))
        {
            await backend.WriteLineAsync($"XCLIENT ADDR={client.Address} PORT={client.Port}", cancellationToken);
            await ExpectOkAsync(backend, "XCLIENT", cancellationToken);
        }
        await backend.WriteLineAsync("USER " + credentials.LoginName, cancellationToken);
        await ExpectOkAsync(backend, "USER", cancellationToken);
        await backend.WriteLineAsync("PASS " + credentials.Password, cancellationToken);
        return await ExpectOkAsync(backend, "PASS", cancellationToken);
    }

    private static async Task<string> ExpectOkAsync(BackendConnection backend, string step, CancellationToken cancellationToken)
    {
        var line = await backend.ReadLineAsync(cancellationToken);
        if (!line.StartsWith("+OK", StringComparison.OrdinalIgnoreCase))
        {
            throw new BackendLoginException($"the server answered {step} with '{(line.Length > 200 ? line[..200] + "…" : line)}'");
        }
        return line.Length > 4 ? line[4..] : "Logged in.";
    }
}
