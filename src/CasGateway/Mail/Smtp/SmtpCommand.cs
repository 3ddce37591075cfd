using System.Globalization;

namespace CasGateway.Mail.Smtp;

/// <summary>
/// A client's <c>MAIL FROM</c> or <c>RCPT TO</c>, checked and rebuilt: only this rebuilt form reaches a mailbox
/// server, never the client's line. The path is an address in angle brackets (<c>&lt;&gt;</c> for a null sender);
/// parameters are <c>KEYWORD[=value]</c> as RFC 5321 §4.1.2 allows them.
/// </summary>
public sealed record SmtpPathCommand(string Verb, string Path, IReadOnlyList<string> Parameters)
{
    private const int MaxPathLength = 256;
    private const int MaxParameters = 10;

    /// <summary>The command as the gateway sends it on.</summary>
    public string Line => $"{Verb} {(Verb == "MAIL" ? "FROM" : "TO")}:<{Path}>" + (Parameters.Count > 0 ? " " + string.Join(' ', Parameters) : "");

    /// <summary>The domain of the path's address (after the last <c>@</c>), or "" when it has none.</summary>
    public string Domain => Path.LastIndexOf('@') is var at and >= 0 ? Path[(at + 1)..] : "";

    /// <summary>The value of <c>SIZE=</c>: null when absent, -1 when not a number.</summary>
    public long? DeclaredSize => Parameters.FirstOrDefault(p => p.StartsWith("SIZE=", StringComparison.OrdinalIgnoreCase)) is { } size
        ? long.TryParse(size.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : -1
        : null;

    /// <summary>Parses the argument of <c>MAIL</c> (<c>FROM:&lt;…&gt; params</c>) or <c>RCPT</c> (<c>TO:&lt;…&gt; params</c>); null when invalid.</summary>
    public static SmtpPathCommand? Parse(string verb, string argument)
    {
        var prefix = verb == "MAIL" ? "FROM:" : "TO:";
        if (!argument.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var rest = argument[prefix.Length..].TrimStart(' ');
        var close = rest.IndexOf('>');
        if (!rest.StartsWith('<') || close < 0)
        {
            return null;
        }
        var path = rest[1..close];
        if (path.Length > MaxPathLength || path.Any(c => c <= ' ' || c is '<' or '>' or '\x7f')
            || (verb == "RCPT" && (path.Length == 0 || !IsAddress(path))))
        {
            return null;
        }
        var parameters = rest[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parameters.Length > MaxParameters || (close + 1 < rest.Length && rest[close + 1] != ' ') || !parameters.All(IsParameter))
        {
            return null;
        }
        return new SmtpPathCommand(verb, path, parameters);
    }

    /// <summary>An EHLO/HELO argument: a domain or an address literal such as <c>[192.0.2.1]</c>.</summary>
    public static bool IsHeloName(string name)
        => name.Length is > 0 and <= 255 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '[' or ']' or ':');

    private static bool IsAddress(string path)
    {
        var at = path.LastIndexOf('@');
        return (at > 0 && at < path.Length - 1) || string.Equals(path, "postmaster", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsParameter(string parameter)
    {
        var equals = parameter.IndexOf('=');
        var keyword = equals < 0 ? parameter : parameter[..equals];
        return keyword.Length > 0 && char.IsAsciiLetterOrDigit(keyword[0]) && keyword.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            && (equals < 0 || (equals < parameter.Length - 1 && parameter[(equals + 1)..].All(c => c > ' ' && c != '=' && c != '\x7f')));
    }
}
