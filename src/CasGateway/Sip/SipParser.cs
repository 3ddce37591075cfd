using System.Buffers;
using System.Globalization;
using System.Text;

namespace CasGateway.Sip;

/// <summary>What the parser made of a message.</summary>
internal enum SipParseStatus
{
    /// <summary>A well-formed request.</summary>
    Request,

    /// <summary>A response (the router sends no requests, so it is ignored).</summary>
    Response,

    /// <summary>Not valid SIP; <see cref="SipParseResult.Request"/> holds what could be read.</summary>
    Malformed,

    /// <summary>Over the size limits.</summary>
    TooLarge,
}

internal readonly record struct SipParseResult(SipParseStatus Status, SipRequest Request, string? Error);

/// <summary>The parser's limits, from <see cref="SipOptions"/>.</summary>
internal sealed record SipLimits(int MaxMessageSize, int MaxHeaders, int MaxLineLength)
{
    public static SipLimits From(SipOptions options) => new(options.MaxMessageSize, options.MaxHeaders, options.MaxLineLength);
}

/// <summary>
/// A strict SIP request parser (RFC 3261 §7): CRLF line ends, no folding, no control characters, token header names
/// (compact forms expanded), bounded line length, header count and size, a single numeric Content-Length, and a
/// CSeq that matches the method. It never throws on client bytes.
/// </summary>
internal static class SipParser
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly SearchValues<char> TokenCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~");

    /// <summary>The end of the header section (just past the empty line), or -1 when it is not complete yet.</summary>
    public static int HeaderSectionLength(ReadOnlySpan<byte> buffer)
    {
        var end = buffer.IndexOf("\r\n\r\n"u8);
        return end < 0 ? -1 : end + 4;
    }

    /// <summary>
    /// Parses a header section (<paramref name="head"/>, ending with the empty line). <paramref name="datagram"/>
    /// is the rest of a UDP datagram (the body), null on a stream, where <c>Content-Length</c> is required.
    /// </summary>
    public static SipParseResult Parse(ReadOnlySpan<byte> head, int? datagramBody, SipLimits limits)
    {
        var request = new SipRequest();
        string text;
        try
        {
            text = Utf8.GetString(head);
        }
        catch (DecoderFallbackException)
        {
            return Malformed(request, "not UTF-8");
        }
        if (!text.EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            return Malformed(request, "no end of headers");
        }
        var lines = text[..^4].Split("\r\n");
        var startLine = lines[0];
        if (startLine.Length > limits.MaxLineLength)
        {
            return new SipParseResult(SipParseStatus.TooLarge, request, "request line too long");
        }
        if (!CleanLine(startLine))
        {
            return Malformed(request, "control character in the request line");
        }
        if (startLine.StartsWith("SIP/2.0 ", StringComparison.Ordinal))
        {
            return new SipParseResult(SipParseStatus.Response, request, null);
        }
        var parts = startLine.Split(' ');
        var lineOk = parts.Length == 3 && IsToken(parts[0]) && parts[1].Length > 0 && parts[2] == "SIP/2.0";
        if (lineOk)
        {
            request.Method = parts[0];
            request.RequestUri = parts[1];
        }
        if (lines.Length - 1 > limits.MaxHeaders)
        {
            return new SipParseResult(SipParseStatus.TooLarge, request, "too many headers");
        }
        string? error = lineOk ? null : "bad request line";
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length > limits.MaxLineLength)
            {
                return new SipParseResult(SipParseStatus.TooLarge, request, "header line too long");
            }
            var colon = line.IndexOf(':');
            if (colon <= 0 || !CleanLine(line))
            {
                error ??= "malformed header line";
                continue;
            }
            var name = line[..colon].TrimEnd(' ', '\t');
            if (!IsToken(name))
            {
                error ??= "malformed header name";
                continue;
            }
            request.Add(FullName(name), line[(colon + 1)..].Trim(' ', '\t'));
        }
        error ??= CheckRequest(request, datagramBody);
        if (error is not null)
        {
            return Malformed(request, error);
        }
        if (head.Length + request.ContentLength > limits.MaxMessageSize)
        {
            return new SipParseResult(SipParseStatus.TooLarge, request, "message too large");
        }
        return new SipParseResult(SipParseStatus.Request, request, null);
    }

    private static string? CheckRequest(SipRequest request, int? datagramBody)
    {
        string? contentLength = null;
        foreach (var value in request.All("Content-Length"))
        {
            if (contentLength is not null && contentLength != value)
            {
                return "conflicting Content-Length";
            }
            contentLength = value;
        }
        if (contentLength is not null)
        {
            if (contentLength.Length is 0 or > 6 || !int.TryParse(contentLength, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return "bad Content-Length";
            }
            if (datagramBody is { } available && length > available)
            {
                return "Content-Length beyond the datagram";
            }
            request.ContentLength = length;
            request.HasContentLength = true;
        }
        else if (datagramBody is { } rest)
        {
            request.ContentLength = rest;
        }
        else
        {
            return "Content-Length is required on a stream";
        }
        foreach (var required in (string[])["Via", "From", "To", "Call-ID", "CSeq"])
        {
            if (request.First(required) is not { Length: > 0 })
            {
                return "missing " + required;
            }
        }
        var cseq = request.First("CSeq")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (cseq.Length != 2 || cseq[0].Length > 10 || !uint.TryParse(cseq[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number > int.MaxValue)
        {
            return "bad CSeq";
        }
        if (cseq[1] != request.Method)
        {
            return "CSeq method differs from the request's";
        }
        if (request.First("Max-Forwards") is { } maxForwards
            && (maxForwards.Length is 0 or > 3 || !maxForwards.All(char.IsAsciiDigit)))
        {
            return "bad Max-Forwards";
        }
        return null;
    }

    private static SipParseResult Malformed(SipRequest request, string error) => new(SipParseStatus.Malformed, request, error);

    /// <summary>No CR, LF, NUL or other control characters (tab allowed); a continuation (folded) line is refused too.</summary>
    private static bool CleanLine(string line)
    {
        if (line.Length == 0 || line[0] is ' ' or '\t')
        {
            return false;
        }
        foreach (var c in line)
        {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsToken(string text) => text.Length > 0 && !text.AsSpan().ContainsAnyExcept(TokenCharacters);

    /// <summary>Compact header forms (RFC 3261 §7.3.3) in their full form; other names as sent.</summary>
    private static string FullName(string name) => name.Length != 1 ? name : char.ToLowerInvariant(name[0]) switch
    {
        'v' => "Via",
        'f' => "From",
        't' => "To",
        'i' => "Call-ID",
        'm' => "Contact",
        'l' => "Content-Length",
        'c' => "Content-Type",
        'e' => "Content-Encoding",
        's' => "Subject",
        'k' => "Supported",
        _ => name,
    };
}
