using Microsoft.Extensions.Primitives;

namespace CasGateway.Forwarding;

/// <summary>Cookie header text handled as raw text: nothing is decoded, so nothing decoded can reach a backend.</summary>
public static class CookieHeader
{
    /// <summary>
    /// The <c>name=value</c> pairs of every Cookie header value, joined with <c>"; "</c>, without those named
    /// <paramref name="excluded"/> (case-insensitive) and without empty pairs; each kept pair is its raw text, trimmed.
    /// </summary>
    public static string Without(StringValues cookieHeaders, string excluded)
    {
        var kept = new System.Text.StringBuilder();
        foreach (var header in cookieHeaders)
        {
            foreach (var range in header.AsSpan().Split(';'))
            {
                var pair = header.AsSpan(range).Trim(" \t");
                if (pair.IsEmpty)
                {
                    continue;
                }
                var equals = pair.IndexOf('=');
                var name = (equals < 0 ? pair : pair[..equals]).Trim(" \t");
                if (name.Equals(excluded, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                if (kept.Length > 0)
                {
                    kept.Append("; ");
                }
                kept.Append(pair);
            }
        }
        return kept.ToString();
    }
}
