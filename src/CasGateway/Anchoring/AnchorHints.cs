using Microsoft.Extensions.Primitives;

namespace CasGateway.Anchoring;

/// <summary>Hint readers shared by the family rules. None of them allocates for a well-formed hint.</summary>
public static class AnchorHints
{
    public const string AnchorMailboxHeader = "X-AnchorMailbox";

    /// <summary>Reads an anchor from a header: absent → null; present but unusable → 400 outcome.</summary>
    public static AnchorOutcome? FromHeader(HttpRequest request, string header, string sourceName)
    {
        var values = request.Headers[header];
        return values.Count == 0 ? null : Parse(values, sourceName, header);
    }

    /// <summary>Parses one hint value (several values → 400).</summary>
    public static AnchorOutcome Parse(StringValues values, string sourceName, string what)
        => values.Count != 1 ? AnchorOutcome.Bad($"{what} must appear once.") : Parse(values[0].AsMemory(), sourceName, what);

    public static AnchorOutcome Parse(ReadOnlyMemory<char> value, string sourceName, string what)
        => AnchorMailbox.TryParse(value, out var anchor)
            ? AnchorOutcome.FromHint(anchor.Value, HintSources.For(sourceName, anchor.Value))
            : AnchorOutcome.Bad($"{what} is not an SMTP address or <mailbox guid>@<domain>.");

    /// <summary>
    /// Finds <paramref name="name"/> in the raw query string (case-insensitive) without parsing the whole query.
    /// Returns false when absent; <paramref name="escaped"/> tells that the value is percent- or plus-encoded.
    /// </summary>
    public static bool TryGetQueryValue(string? query, string name, out ReadOnlyMemory<char> value, out bool escaped)
    {
        value = default;
        escaped = false;
        if (string.IsNullOrEmpty(query))
        {
            return false;
        }
        var position = query[0] == '?' ? 1 : 0;
        while (position < query.Length)
        {
            var end = query.IndexOf('&', position);
            if (end < 0)
            {
                end = query.Length;
            }
            var pair = query.AsSpan(position, end - position);
            var equals = pair.IndexOf('=');
            var key = equals < 0 ? pair : pair[..equals];
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                value = equals < 0 ? ReadOnlyMemory<char>.Empty : query.AsMemory(position + equals + 1, pair.Length - equals - 1);
                escaped = value.Span.IndexOfAny('%', '+') >= 0;
                return true;
            }
            position = end + 1;
        }
        return false;
    }

    /// <summary>A query value as an anchor, unescaping only when it was escaped.</summary>
    public static AnchorOutcome ParseQueryValue(ReadOnlyMemory<char> value, bool escaped, string sourceName, string what)
        => Parse(escaped ? Uri.UnescapeDataString(value.ToString().Replace('+', ' ')).AsMemory() : value, sourceName, what);

    /// <summary>The path segment after <paramref name="prefixSegments"/> segments, e.g. <c>/owa/{this}/…</c>.</summary>
    public static ReadOnlyMemory<char> Segment(string path, int index)
    {
        var start = 0;
        for (var i = 0; i <= index; i++)
        {
            if (start >= path.Length || path[start] != '/')
            {
                return ReadOnlyMemory<char>.Empty;
            }
            start++;
            if (i == index)
            {
                break;
            }
            var next = path.IndexOf('/', start);
            if (next < 0)
            {
                return ReadOnlyMemory<char>.Empty;
            }
            start = next;
        }
        var end = path.IndexOf('/', start);
        return path.AsMemory(start, (end < 0 ? path.Length : end) - start);
    }
}
