using CasGateway.Mail.Core;

namespace CasGateway.Mail.Smtp;

/// <summary>One SMTP reply from a mailbox server: its code and its lines (without CR LF), relayed to the client as they are.</summary>
public sealed record SmtpReply(int Code, IReadOnlyList<string> Lines)
{
    /// <summary>The most lines a reply may have (an EHLO answer has a dozen or two).</summary>
    private const int MaxLines = 100;

    public bool IsPositive => Code is >= 200 and < 400;

    /// <summary>The reply as it goes on the wire.</summary>
    public string Text => string.Concat(Lines.Select(line => line + "\r\n"));

    /// <summary>The EHLO keywords (upper case) with their parameters, from a 250 answer to EHLO.</summary>
    public IEnumerable<string> Extensions => Lines.Skip(1).Select(line => line.Length > 4 ? line[4..].ToUpperInvariant() : "");

    /// <summary>The first line for a log message, shortened.</summary>
    public string Summary => Lines[0].Length > 200 ? Lines[0][..200] + "…" : Lines[0];

    /// <summary>Reads a reply (<c>250-…</c> lines up to the <c>250 …</c> one).</summary>
    /// <exception cref="BackendLoginException">The server closed, rambled, or sent something that is not a reply.</exception>
    public static async Task<SmtpReply> ReadAsync(BackendConnection backend, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await backend.ReadLineAsync(cancellationToken);
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code) || code is < 200 or > 599
                || (line.Length > 3 && line[3] is not (' ' or '-')) || (lines.Count > 0 && !line.StartsWith(lines[0][..3], StringComparison.Ordinal)))
            {
                throw new BackendLoginException($"the mailbox server sent '{(line.Length > 200 ? line[..200] + "…" : line)}', not an SMTP reply");
            }
            lines.Add(line);
            if (line.Length == 3 || line[3] == ' ')
            {
                return new SmtpReply(code, lines);
            }
            if (lines.Count >= MaxLines)
            {
                throw new BackendLoginException("the mailbox server sent an over-long reply");
            }
        }
    }
}
