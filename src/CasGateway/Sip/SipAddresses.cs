using CasGateway.Location;

namespace CasGateway.Sip;

/// <summary>Reads called parties out of SIP and tel URIs and the headers that carry them.</summary>
internal static class SipAddresses
{
    /// <summary>The most addresses tried for one call (forwarding entries and the Request-URI).</summary>
    public const int MaxCandidates = 8;

    /// <summary>
    /// Whom the call is for, most specific first: the diverting users of a forwarded call (<c>Diversion</c>, most
    /// recent first, then <c>History-Info</c> entries, latest first), then the Request-URI.
    /// </summary>
    public static List<VoiceAddress> CalledParties(SipRequest request)
    {
        var found = new List<VoiceAddress>();
        foreach (var entry in request.All("Diversion").SelectMany(SplitList))
        {
            AddFrom(entry, found);
        }
        foreach (var entry in request.All("History-Info").SelectMany(SplitList).Reverse())
        {
            AddFrom(entry, found);
        }
        AddFrom(request.RequestUri, found);
        return [.. found.Distinct().Take(MaxCandidates)];
    }

    /// <summary>
    /// The user (number or name) of the Request-URI, as dialled (a telephone number without visual separators): what a
    /// pilot number is compared with.
    /// </summary>
    public static string? DialledUser(string requestUri) => Parse(requestUri) is { } uri ? (uri.Phone ? StripVisualSeparators(uri.User) : uri.User) : null;

    private static void AddFrom(string text, List<VoiceAddress> found)
    {
        if (found.Count >= MaxCandidates * 2 || Parse(text) is not { } uri)
        {
            return;
        }
        if (uri.Phone || VoiceAddress.IsExtension(uri.User) || VoiceAddress.IsE164(uri.User))
        {
            var digits = uri.Phone ? StripVisualSeparators(uri.User) : uri.User;
            if (VoiceAddress.IsE164(digits))
            {
                found.Add(new VoiceAddress(VoiceAddressKind.E164, digits));
            }
            else if (VoiceAddress.IsExtension(digits))
            {
                found.Add(new VoiceAddress(VoiceAddressKind.Extension, digits));
            }
        }
        if (uri.Host is not null && VoiceAddress.TryNormalizeSipAddress(uri.User + "@" + uri.Host, out var sip))
        {
            found.Add(new VoiceAddress(VoiceAddressKind.SipAddress, sip));
        }
    }

    private sealed record ParsedUri(string User, string? Host, bool Phone);

    /// <summary>
    /// <c>sip:user@host;params</c>, <c>sips:…</c> or <c>tel:number;params</c>, bare or inside a name-addr
    /// (<c>"Name" &lt;sip:…&gt;;params</c>); null for anything else.
    /// </summary>
    private static ParsedUri? Parse(string text)
    {
        var value = text.Trim();
        var open = value.IndexOf('<');
        if (open >= 0)
        {
            var close = value.IndexOf('>', open);
            if (close < 0)
            {
                return null;
            }
            value = value[(open + 1)..close];
        }
        var headers = value.IndexOf('?');
        if (headers >= 0)
        {
            value = value[..headers];
        }
        if (value.StartsWith("tel:", StringComparison.OrdinalIgnoreCase))
        {
            var number = value[4..].Split(';')[0];
            return number.Length > 0 ? new ParsedUri(number, null, Phone: true) : null;
        }
        var scheme = value.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) ? 4
            : value.StartsWith("sips:", StringComparison.OrdinalIgnoreCase) ? 5
            : -1;
        var at = value.IndexOf('@');
        if (scheme < 0 || at <= scheme)
        {
            return null;
        }
        var user = value[scheme..at].Split(';')[0];
        var hostAndParams = value[(at + 1)..].Split(';');
        var host = hostAndParams[0];
        var colon = host.LastIndexOf(':');
        if (colon > 0 && !host.EndsWith(']'))
        {
            host = host[..colon];
        }
        var phone = hostAndParams.Skip(1).Any(p => string.Equals(p.Trim(), "user=phone", StringComparison.OrdinalIgnoreCase));
        return user.Length > 0 ? new ParsedUri(user, host, phone) : null;
    }

    /// <summary>RFC 3966 visual separators (<c>-</c>, <c>.</c>, <c>(</c>, <c>)</c>) removed from a telephone number.</summary>
    private static string StripVisualSeparators(string number) => string.Concat(number.Where(c => c is not ('-' or '.' or '(' or ')')));

    /// <summary>Splits a comma-separated header value, leaving commas inside quotes or angle brackets alone.</summary>
    internal static IEnumerable<string> SplitList(string value)
    {
        var start = 0;
        var quoted = false;
        var angle = false;
        for (var i = 0; i < value.Length; i++)
        {
            switch (value[i])
            {
                case '"':
                    quoted = !quoted;
                    break;
                case '<' when !quoted:
                    angle = true;
                    break;
                case '>' when !quoted:
                    angle = false;
                    break;
                case ',' when !quoted && !angle:
                    yield return value[start..i];
                    start = i + 1;
                    break;
            }
        }
        yield return value[start..];
    }
}
