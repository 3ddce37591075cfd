using System.Diagnostics.CodeAnalysis;

namespace CasGateway.Anchoring;

/// <summary>How an anchor names its mailbox.</summary>
public enum AnchorKind
{
    /// <summary>An SMTP address: primary address or alias.</summary>
    Smtp,

    /// <summary>A mailbox GUID, written <c>&lt;guid&gt;@&lt;domain&gt;</c>.</summary>
    MailboxGuid,
}

/// <summary>The mailbox a request is for.</summary>
public readonly record struct AnchorMailbox(AnchorKind Kind, string Address, Guid MailboxGuid)
{
    /// <summary>Longest SMTP address accepted (RFC 5321 path limit).</summary>
    public const int MaxLength = 254;

    public static AnchorMailbox ForSmtp(string address) => new(AnchorKind.Smtp, address, Guid.Empty);

    /// <summary>
    /// Parses <c>local@domain</c>: a GUID local part makes a <see cref="AnchorKind.MailboxGuid"/> anchor, anything
    /// else must be a plain SMTP address. Rejects control characters, path characters and over-long values.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> value, [NotNullWhen(true)] out AnchorMailbox? anchor)
    {
        anchor = null;
        if (value.IsEmpty || value.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c <= ' ' || c >= 0x7f || c is '/' or '\\' or '<' or '>' or '"' or '(' or ')' or ',' or ';' or ':' or '[' or ']')
            {
                return false;
            }
        }
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1 || value[..at].Contains('@'))
        {
            return false;
        }
        var local = value[..at];
        var domain = value[(at + 1)..];
        if (!IsDomain(domain) || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        if (Guid.TryParseExact(local, "D", out var guid))
        {
            anchor = new AnchorMailbox(AnchorKind.MailboxGuid, value.ToString(), guid);
            return true;
        }
        anchor = ForSmtp(value.ToString());
        return true;
    }

    /// <summary>A display form for logs.</summary>
    public override string ToString() => Address;

    private static bool IsDomain(ReadOnlySpan<char> domain)
    {
        if (domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in domain)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
            {
                return false;
            }
        }
        return true;
    }
}
