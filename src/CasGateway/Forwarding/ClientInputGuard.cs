using System.Buffers;
using CasGateway.Routing;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Forwarding;

/// <summary>
/// The first step of the proxy pipeline: a request carrying a byte the gateway would not put on the wire itself is
/// refused with 400 before routing, so no backend is ever contacted for it. Every header value must be printable
/// ASCII (or a tab); CR, LF and NUL are refused also where the gateway decodes them (percent-encoded in cookies, the
/// query, the path). Afterwards, a backend request that could not be built is answered as the client's error.
/// </summary>
public sealed partial class ClientInputGuard(ILogger<ClientInputGuard> logger)
{
    private static readonly SearchValues<char> FieldValueChars = SearchValues.Create(['\t', .. Enumerable.Range(0x20, 0x7f - 0x20).Select(static c => (char)c)]);

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (Problem(context.Request) is { } problem)
        {
            LogRefused(logger, problem, context.Connection.RemoteIpAddress?.ToString(), context.TraceIdentifier);
            await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "BadClientInput", "The request carries characters the gateway does not forward.");
            return;
        }
        await next();
        if (ForwardingFailures.IsClientError(context.Features.Get<IForwarderErrorFeature>()) && !context.Response.HasStarted)
        {
            context.Response.Clear();
            await GatewayResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "BadClientInput", "The request could not be forwarded as sent.");
        }
    }

    /// <summary>What is wrong with the request (for the log, never echoed to the client), or null when it may be forwarded.</summary>
    public static string? Problem(HttpRequest request)
    {
        foreach (var header in request.Headers)
        {
            foreach (var value in header.Value)
            {
                if (value is not null && !IsFieldValue(value))
                {
                    return "control or non-ASCII character in header " + header.Key;
                }
            }
        }
        foreach (var cookie in request.Headers.Cookie)
        {
            if (cookie is not null && HasEncodedControl(cookie))
            {
                return "percent-encoded CR, LF or NUL in Cookie";
            }
            // A field value may hold a tab, a cookie may not (RFC 6265 cookie-octet): no backend should have to parse one.
            if (cookie?.Contains('\t', StringComparison.Ordinal) == true)
            {
                return "tab in Cookie";
            }
        }
        if (request.QueryString.Value is { } query && HasEncodedControl(query))
        {
            return "percent-encoded CR, LF or NUL in the query";
        }
        if (HasControl(request.PathBase.Value) || HasControl(request.Path.Value))
        {
            return "control character in the path";
        }
        return null;
    }

    /// <summary>RFC 9110 field-value without obs-text: visible ASCII, space and tab (vectorised: every header of every request passes here twice).</summary>
    public static bool IsFieldValue(ReadOnlySpan<char> value) => value.IndexOfAnyExcept(FieldValueChars) < 0;

    /// <summary>%00, %0A or %0D (any case): what a decoder would turn into NUL, LF or CR.</summary>
    public static bool HasEncodedControl(ReadOnlySpan<char> text)
    {
        var at = text.IndexOf('%');
        while (at >= 0 && at + 2 < text.Length)
        {
            if (text[at + 1] == '0' && text[at + 2] is '0' or 'a' or 'A' or 'd' or 'D')
            {
                return true;
            }
            var next = text[(at + 1)..].IndexOf('%');
            at = next < 0 ? -1 : at + 1 + next;
        }
        return false;
    }

    private static bool HasControl(string? decoded)
    {
        foreach (var c in decoded.AsSpan())
        {
            if (c < 0x20 || c == 0x7f)
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request from {ClientIp}: {Problem} (request {RequestId})")]
    private static partial void LogRefused(ILogger logger, string problem, string? clientIp, string requestId);
}
