using CasGateway.Mail.Core;

namespace CasGateway.Mail.Imap;

/// <summary>
/// The gateway's IMAP login on a mailbox server: waits for the greeting, STARTTLS when configured, then
/// <c>LOGIN "user*master" "password"</c> (Dovecot's master-user login, or whatever the login format says).
/// </summary>
public sealed class ImapBackendDialect : IMailBackendDialect
{
    public MailProtocol Protocol => MailProtocol.Imap;

    public async Task<string> LoginAsync(BackendConnection backend, BackendCredentials credentials, CancellationToken cancellationToken)
    {
        var greeting = await backend.ReadLineAsync(cancellationToken);
        if (!greeting.StartsWith("* OK", StringComparison.OrdinalIgnoreCase))
        {
            throw new BackendLoginException($"unexpected greeting '{Clip(greeting)}'");
        }
        if (credentials.StartTls is { } tls)
        {
            await backend.WriteLineAsync("G1 STARTTLS", cancellationToken);
            await ExpectOkAsync(backend, "G1", cancellationToken);
            await backend.UpgradeToTlsAsync(tls, cancellationToken);
        }
        await backend.WriteLineAsync($"G2 LOGIN {Quote(credentials.LoginName)} {Quote(credentials.Password)}", cancellationToken);
        return await ExpectOkAsync(backend, "G2", cancellationToken);
    }

    /// <summary>Reads up to the tagged answer, skipping untagged lines (capabilities, "waiting for authentication").</summary>
    private static async Task<string> ExpectOkAsync(BackendConnection backend, string tag, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await backend.ReadLineAsync(cancellationToken);
            if (line.StartsWith("* BYE", StringComparison.OrdinalIgnoreCase))
            {
                throw new BackendLoginException($"the server said '{Clip(line)}'");
            }
            if (!line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                continue;
            }
            var answer = line[(tag.Length + 1)..];
            if (!answer.StartsWith("OK", StringComparison.OrdinalIgnoreCase))
            {
                throw new BackendLoginException($"the server answered '{Clip(answer)}'");
            }
            return answer.Length > 3 ? answer[3..] : "Logged in";
        }
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Clip(string line) => line.Length > 200 ? line[..200] + "…" : line;
}
