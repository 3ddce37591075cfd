using CasGateway.Authentication;
using CasGateway.BackendAuth;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Observability;
using Yarp.ReverseProxy.Model;
using CasGateway.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace CasGateway.Forwarding;

/// <summary>
/// Shapes every forwarded request: strips internal headers the client sent (and logs it), drops the client's
/// credentials unless the route opts in, passes on the client's sampled trace context when the gateway does not trace,
/// and adds the signed caller identity and the gateway markers.
/// </summary>
public sealed partial class BackendRequestTransform(
    IOptions<BackendOptions> backend,
    IOptions<GatewayOptions> gateway,
    BackendCookie cookie,
    IdentityTokens tokens,
    IOptions<TelemetryOptions> telemetry,
    ILogger<BackendRequestTransform> logger)
{
    private readonly bool _passOnClientTrace = !telemetry.Value.TracingEnabled();
    private readonly string _identityHeader = backend.Value.Identity.HeaderName;
    private readonly string _node = gateway.Value.NodeName;

    public ValueTask ApplyAsync(RequestTransformContext context, bool forwardCredentials)
    {
        var http = context.HttpContext;
        var headers = context.ProxyRequest.Headers;
        List<string>? forged = null;
        foreach (var header in http.Request.Headers)
        {
            if (InternalHeaders.IsInternal(header.Key, _identityHeader))
            {
                headers.Remove(header.Key);
                (forged ??= []).Add(header.Key);
            }
        }
        if (forged is not null)
        {
            LogForged(logger, http.Connection.RemoteIpAddress?.ToString(), string.Join(", ", forged), http.TraceIdentifier);
        }
        if (!forwardCredentials)
        {
            headers.Authorization = null;
        }

        if (_passOnClientTrace)
        {
            // Not tracing: no span, so no propagator either (BackendChannelFactory); the client's sampled trace goes on.
            ClientTraceContext.PassOn(http.Request.Headers, headers);
        }
        RebuildCookies(http.Request, headers, cookie.Name);
        var routing = http.Features.Get<RoutePlanFeature>()?.Plan;
        var mailbox = routing?.MailboxAddress;
        if (mailbox is not null)
        {
            headers.Add(InternalHeaders.TargetMailbox, mailbox);
        }
        // The token names the server it is for: the destination YARP is about to send to.
        var audience = http.GetReverseProxyFeature().ProxiedDestination?.DestinationId ?? routing?.Server?.Fqdn ?? "";
        headers.Add(_identityHeader, tokens.TokenFor(
            user: http.User.Identity?.Name ?? routing?.CallerAddress ?? "",
            primarySmtpAddress: routing?.CallerAddress ?? "",
            mailboxGuid: routing?.CallerMailboxGuid ?? Guid.Empty,
            authenticationMethod: GatewayClaims.MethodOf(http.User),
            clientIp: ClientAddress(http),
            audience: audience,
            targetMailbox: mailbox ?? ""));
        headers.Add(GatewayHeaders.IsFromCafe, "1");
        headers.Add(GatewayHeaders.SourceCafeServer, _node);
        headers.Add(GatewayHeaders.ProxyUri, Microsoft.AspNetCore.Http.Extensions.UriHelper.GetEncodedUrl(http.Request));
        EnsureWireSafe(context.ProxyRequest);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The Cookie header is rebuilt from the client's raw, undecoded header text: every cookie the gateway owns is
    /// left out by name, every other one is kept byte for byte.
    /// </summary>
    private static void RebuildCookies(HttpRequest request, System.Net.Http.Headers.HttpRequestHeaders headers, string gatewayCookie)
    {
        headers.Remove(HeaderNames.Cookie);
        var kept = CookieHeader.Without(request.Headers.Cookie, gatewayCookie);
        if (kept.Length > 0)
        {
            headers.Add(HeaderNames.Cookie, kept);
        }
    }

    /// <summary>
    /// Last check before the request leaves: every header value is printable ASCII. The client-input guard refuses
    /// such requests earlier; should anything slip through, building fails here as the client's error (400) instead
    /// of HttpClient failing on the wire, which would count against the backend.
    /// </summary>
    private static void EnsureWireSafe(HttpRequestMessage request)
    {
        foreach (var header in request.Headers.NonValidated)
        {
            foreach (var value in header.Value)
            {
                if (!ClientInputGuard.IsFieldValue(value))
                {
                    throw new ClientRequestException("Header " + header.Key + " holds a character that cannot be forwarded.");
                }
            }
        }
    }

    private static string ClientAddress(HttpContext context)
        => context.Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : "";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripped internal header(s) sent by client {ClientIp}: {Headers} (request {RequestId})")]
    private static partial void LogForged(ILogger logger, string? clientIp, string headers, string requestId);
}
