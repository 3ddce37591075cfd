namespace CasGateway.Sip;

/// <summary>
/// One parsed SIP request: its request line and header lines in order (names in their full form, values as sent).
/// A request that failed to parse still carries the headers read so far, so the answer can say why.
/// </summary>
internal sealed class SipRequest
{
    private readonly List<KeyValuePair<string, string>> _headers = [];

    public string Method { get; set; } = "";

    public string RequestUri { get; set; } = "";

    /// <summary>The body's length (from <c>Content-Length</c>, or the rest of a datagram).</summary>
    public int ContentLength { get; set; }

    public bool HasContentLength { get; set; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    /// <summary>The headers a response must copy are all there (RFC 3261 §8.2.6.2), so even a refusal can be answered.</summary>
    public bool CanAnswer => First("Via") is not null && First("From") is not null && First("To") is not null
        && First("Call-ID") is not null && First("CSeq") is not null;

    public void Add(string name, string value) => _headers.Add(KeyValuePair.Create(name, value));

    public string? First(string name)
    {
        foreach (var (key, value) in _headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }

    public IEnumerable<string> All(string name)
    {
        foreach (var (key, value) in _headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                yield return value;
            }
        }
    }
}
