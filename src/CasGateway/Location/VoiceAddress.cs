using System.Diagnostics.CodeAnalysis;

namespace CasGateway.Location;

/// <summary>How a call names its mailbox.</summary>
public enum VoiceAddressKind
{
    /// <summary>A Unified Messaging extension: digits only (<c>4501</c>).</summary>
    Extension,

    /// <summary>A SIP address <c>user@domain</c> (lower case, without <c>sip:</c>).</summary>
    SipAddress,

    /// <summary>An E.164 number: <c>+</c> and digits.</summary>
    E164,
}

/// <summary>A called party as the directory indexes it (<see cref="DirectorySnapshot.FindVoiceUser"/>).</summary>
public readonly record struct VoiceAddress(VoiceAddressKind Kind, string Value)
{
    /// <summary>Longest extension or number accepted (E.164 allows 15 digits; private plans a few more).</summary>
    public const int MaxDigits = 20;

    public static bool IsExtension(ReadOnlySpan<char> text)
        => text.Length is > 0 and <= MaxDigits && !text.ContainsAnyExceptInRange('0', '9');

    public static bool IsE164(ReadOnlySpan<char> text)
        => text.Length > 1 && text[0] == '+' && IsExtension(text[1..]);

    /// <summary>
    /// <c>user@domain</c> (an optional <c>sip:</c> prefix removed, lower-cased): a user part of SIP unreserved
    /// characters and a DNS or IP host.
    /// </summary>
    public static bool TryNormalizeSipAddress(string? text, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (text is null)
        {
            return false;
        }
        var value = text.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) ? text[4..] : text;
        var at = value.IndexOf('@');
        if (at <= 0 || at != value.LastIndexOf('@') || value.Length > 254)
        {
            return false;
        }
        foreach (var c in value.AsSpan(0, at))
        {
            if (!char.IsAsciiLetterOrDigit(c) && "-_.!~*'()&=+$,;?/".IndexOf(c) < 0)
            {
                return false;
            }
        }
        var host = value[(at + 1)..];
        if (Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            return false;
        }
        normalized = value.ToLowerInvariant();
        return true;
    }

    /// <summary>The directory key: one namespace per kind.</summary>
    internal string Key => Kind switch
    {
        VoiceAddressKind.Extension => "ext:" + Value,
        VoiceAddressKind.E164 => "tel:" + Value,
        _ => "sip:" + Value.ToLowerInvariant(),
    };
}

/// <summary>
/// Finding mailboxes by their telephone identities: every store implements it (the directory file from its index,
/// LDAP from the UM, SIP and phone attributes, SQL from <c>voice_addresses</c>) and registers it beside itself.
/// </summary>
public interface IVoiceDirectory
{
    /// <summary>The mailbox the address belongs to, or null.</summary>
    /// <exception cref="LocatorUnavailableException">The store cannot answer right now.</exception>
    ValueTask<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken);
}
