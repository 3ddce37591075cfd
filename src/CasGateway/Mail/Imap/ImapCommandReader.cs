using System.Globalization;
using System.Text;
using CasGateway.Mail.Core;

namespace CasGateway.Mail.Imap;

/// <summary>A pre-login IMAP command: tag, name in upper case, arguments with quoting and literals resolved.</summary>
public sealed record ImapCommand(string Tag, string Name, IReadOnlyList<string> Arguments);

public enum ImapReadStatus
{
    Command,

    /// <summary>Not a well-formed command (answered with BAD).</summary>
    Invalid,

    /// <summary>A literal over the pre-login limit was announced.</summary>
    LiteralTooLarge,

    /// <summary>The line could not be read (see <see cref="ImapRead.Line"/>).</summary>
    Broken,
}

public readonly record struct ImapRead(ImapReadStatus Status, string Tag, ImapCommand? Command = null, LineStatus Line = LineStatus.Line);

/// <summary>
/// Reads pre-login IMAP commands (RFC 9051 syntax, the subset LOGIN, AUTHENTICATE and friends need): atoms, quoted
/// strings, parenthesised lists (flattened), and literals — synchronizing <c>{n}</c> (answered with a continuation)
/// and non-synchronizing <c>{n+}</c> — within the pre-login limits for the whole command.
/// </summary>
public sealed class ImapCommandReader(MailClient client, MailOptions options)
{
    private static readonly Encoding Utf8 = new UTF8Encoding(false, false);

    public async Task<ImapRead> ReadAsync()
    {
        var tokens = new List<string>();
        var lineBudget = options.MaxLineLength;
        var literalBudget = options.MaxLiteralSizeBeforeLogin;
        while (true)
        {
            var line = await client.ReadLineAsync(lineBudget, options.PreLoginIdleTimeout);
            if (line.Status != LineStatus.Line)
            {
                return new ImapRead(ImapReadStatus.Broken, TagOf(tokens), Line: line.Status);
            }
            lineBudget -= line.Text.Length;
            if (!TryTokenize(line.Text, tokens, out var literal))
            {
                return new ImapRead(ImapReadStatus.Invalid, TagOf(tokens));
            }
            if (literal is not var (size, synchronizing))
            {
                break;
            }
            if (size > literalBudget || lineBudget <= 0)
            {
                return new ImapRead(ImapReadStatus.LiteralTooLarge, TagOf(tokens));
            }
            literalBudget -= (int)size;
            if (synchronizing)
            {
                await client.SendAsync("+ Ready for literal data\r\n");
            }
            var bytes = await client.ReadBytesAsync((int)size, options.PreLoginIdleTimeout);
            if (bytes is null)
            {
                return new ImapRead(ImapReadStatus.Broken, TagOf(tokens), Line: LineStatus.Closed);
            }
            tokens.Add(Utf8.GetString(bytes));
        }
        return tokens.Count < 2 || !IsTag(tokens[0])
            ? new ImapRead(ImapReadStatus.Invalid, TagOf(tokens))
            : new ImapRead(ImapReadStatus.Command, tokens[0], new ImapCommand(tokens[0], tokens[1].ToUpperInvariant(), tokens[2..]));
    }

    /// <summary>Adds the line's tokens; <paramref name="literal"/> is set when the line ends by announcing a literal.</summary>
    internal static bool TryTokenize(string line, List<string> tokens, out (long Size, bool Synchronizing)? literal)
    {
        literal = null;
        var i = 0;
        while (i < line.Length)
        {
            switch (line[i])
            {
                case ' ' or '(' or ')':
                    i++;
                    break;
                case '"':
                    var text = new StringBuilder();
                    for (i++; i < line.Length && line[i] != '"'; i++)
                    {
                        if (line[i] == '\\' && ++i == line.Length)
                        {
                            return false;
                        }
                        text.Append(line[i]);
                    }
                    if (i == line.Length)
                    {
                        return false;
                    }
                    tokens.Add(text.ToString());
                    i++;
                    break;
                case '{':
                    return line.EndsWith('}') && TryParseLiteral(line.AsSpan(i + 1, line.Length - i - 2), out literal);
                default:
                    var end = line.IndexOfAny([' ', '(', ')'], i);
                    end = end < 0 ? line.Length : end;
                    tokens.Add(line[i..end]);
                    i = end;
                    break;
            }
        }
        return true;
    }

    private static bool TryParseLiteral(ReadOnlySpan<char> spec, out (long Size, bool Synchronizing)? literal)
    {
        literal = null;
        var plus = spec.EndsWith("+");
        var digits = plus ? spec[..^1] : spec;
        if (digits.IsEmpty || digits.ContainsAnyExceptInRange('0', '9'))
        {
            return false;
        }
        literal = (digits.Length > 18 ? long.MaxValue : long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture), !plus);
        return true;
    }

    private static bool IsTag(string tag) => tag.Length is > 0 and <= 64 && !tag.Contains('+') && !tag.Contains('*') && !tag.Contains('"');

    private static string TagOf(List<string> tokens) => tokens.Count > 0 && IsTag(tokens[0]) ? tokens[0] : "*";
}
