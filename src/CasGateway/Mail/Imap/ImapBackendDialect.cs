using CasGateway.Mail.Core;

namespace CasGateway.Mail.Imap;

/// <summary>
/// The gateway's IMAP login on a mailbox server: waits for the greeting, STARTTLS when configured, the client's
/// address in an <c>ID</c> command (RFC 2971, Dovecot's <c>x-originating-ip</c>) when forwarded, then
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
        if (credentials.Client is { } client)
        {
            // A server without ID, or one that does not trust us with it, answers BAD/NO: the login goes on regardless.
            await backend.WriteLineAsync(
                $"G3 ID (\"x-originating-ip\" \"{client.Address}\" \"x-originating-port\" \"{client.Port}\")", cancellationToken);
            await ReadTaggedAsync(backend, "G3", cancellationToken);
        }
        await backend.WriteLineAsync($"G2 LOGIN {Quote(credentials.LoginName)} {Quote(credentials.Password)}", cancellationToken);
        return await ExpectOkAsync(backend, "G2", cancellationToken);
    }

    private static async Task<string> ExpectOkAsync(BackendConnection backend, string tag, CancellationToken cancellationToken)
    {
        var answer = await ReadTaggedAsync(backend, tag, cancellationToken);
        if (!answer.StartsWith("OK", StringComparison.OrdinalIgnoreCase))
        {
            throw new BackendLoginException($"the server answered '{Clip(answer)}'");
        }
        return answer.Length > 3 ? answer[3..] : "Logged in";
    }

    /// <summary>Reads up to the tagged answer (returned without the tag), skipping untagged lines (capabilities, ID).</summary>
    private static async Task<string> ReadTaggedAsync(BackendConnection backend, string tag, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await backend.ReadLineAsync(cancellationToken);
            if (line.StartsWith("* BYE", StringComparison.OrdinalIgnoreCase))
            {
                throw new BackendLoginException($"the server said '{Clip(line)}'");
            }
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return line[(tag.Length + 1)..];
            }
        }
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Clip(string line) => line.Length > 200 ? line[..200] + "…" : line;
}
