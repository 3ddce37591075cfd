using System.Diagnostics.CodeAnalysis;

namespace CasGateway.Anchoring;

/// <summary>How an anchor names its mailbox.</summary>
public enum AnchorKind
{
    /// <summary>An SMTP address: primary address or alias.</summary>
    Smtp,

    /// <summary>A mailbox GUID, written <c>&lt;guid&gt;@&lt;domain&gt;</c>.</summary>
    MailboxGuid,

    /// <summary>An offline address book GUID: the mailbox that serves that OAB (from the directory).</summary>
    OfflineAddressBook,
}

/// <summary>
/// The mailbox a request is for. <see cref="Value"/> is a slice of the text it came from (header, query, path), so
/// extracting an anchor allocates nothing; <see cref="Address"/> materialises it when a string is needed.
/// </summary>
public readonly record struct AnchorMailbox(AnchorKind Kind, ReadOnlyMemory<char> Value, Guid MailboxGuid)
{
    /// <summary>Longest SMTP address accepted (RFC 5321 path limit).</summary>
    public const int MaxLength = 254;

    /// <summary>The anchor as text (the same string instance when the anchor spans its whole source).</summary>
    public string Address => Value.ToString();

    public static AnchorMailbox ForSmtp(string address) => new(AnchorKind.Smtp, address.AsMemory(), Guid.Empty);

    public static AnchorMailbox ForOfflineAddressBook(ReadOnlyMemory<char> text, Guid oab) => new(AnchorKind.OfflineAddressBook, text, oab);

    public static bool TryParse(string? value, [NotNullWhen(true)] out AnchorMailbox? anchor)
    {
        anchor = null;
        return value is not null && TryParse(value.AsMemory(), out anchor);
    }

    /// <summary>
    /// Parses <c>local@domain</c>: a GUID local part makes a <see cref="AnchorKind.MailboxGuid"/> anchor, anything
    /// else must be a plain SMTP address. Rejects control characters, path characters and over-long values.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<char> memory, [NotNullWhen(true)] out AnchorMailbox? anchor)
    {
        anchor = null;
        var value = memory.Span;
        if (value.IsEmpty || value.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c <= ' ' || c >= 0x7f || c is '/' or '\\' or '<' or '>' or '"' or '(' or ')' or ',' or ';' or ':' or '[' or ']' or '%')
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
        anchor = Guid.TryParseExact(local, "D", out var guid)
            ? new AnchorMailbox(AnchorKind.MailboxGuid, memory, guid)
            : new AnchorMailbox(AnchorKind.Smtp, memory, Guid.Empty);
        return true;
    }

    /// <summary>Whether two anchors name the same mailbox text (case-insensitive).</summary>
    public bool SameAs(string other) => Value.Span.Equals(other, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Address;

    public bool Equals(AnchorMailbox other)
        => Kind == other.Kind && MailboxGuid == other.MailboxGuid && Value.Span.Equals(other.Value.Span, StringComparison.OrdinalIgnoreCase);

    public override int GetHashCode() => string.GetHashCode(Value.Span, StringComparison.OrdinalIgnoreCase);

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
