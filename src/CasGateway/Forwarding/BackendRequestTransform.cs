using CasGateway.Authentication;
using CasGateway.BackendAuth;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace CasGateway.Forwarding;

/// <summary>
/// Shapes every forwarded request: strips internal headers the client sent (and logs it), drops the client's
/// credentials unless the route opts in, and adds the signed caller identity and the gateway markers.
/// </summary>
public sealed partial class BackendRequestTransform(
    IOptions<BackendOptions> backend,
    IOptions<GatewayOptions> gateway,
    BackendCookie cookie,
    TimeProvider clock,
    ILogger<BackendRequestTransform> logger)
{
    private readonly GatewayIdentityCodec _codec = new(Convert.FromBase64String(backend.Value.Identity.SigningKey), TimeSpan.Zero);
    private readonly string _identityHeader = backend.Value.Identity.HeaderName;
    private readonly TimeSpan _lifetime = backend.Value.Identity.Lifetime;
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

        RemoveCookie(context, cookie.Name);
        var routing = http.Features.Get<RoutePlanFeature>()?.Plan;
        if (routing?.MailboxAddress is { } mailbox)
        {
            headers.TryAddWithoutValidation(InternalHeaders.TargetMailbox, mailbox);
        }
        var now = clock.GetUtcNow();
        var identity = new GatewayIdentity(
            User: http.User.Identity?.Name ?? routing?.CallerAddress ?? "",
            PrimarySmtpAddress: routing?.CallerAddress ?? "",
            MailboxGuid: routing?.CallerMailboxGuid ?? Guid.Empty,
            AuthenticationMethod: GatewayClaims.MethodOf(http.User),
            ClientIp: ClientAddress(http),
            GatewayNode: _node,
            IssuedAt: now,
            ExpiresAt: now + _lifetime);
        headers.TryAddWithoutValidation(_identityHeader, _codec.Sign(identity));
        headers.TryAddWithoutValidation(GatewayHeaders.IsFromCafe, "1");
        headers.TryAddWithoutValidation(GatewayHeaders.SourceCafeServer, _node);
        headers.TryAddWithoutValidation(GatewayHeaders.ProxyUri, Microsoft.AspNetCore.Http.Extensions.UriHelper.GetEncodedUrl(http.Request));
        return ValueTask.CompletedTask;
    }

    /// <summary>The backend cookie is the gateway's own: backends never see it.</summary>
    private static void RemoveCookie(RequestTransformContext context, string name)
    {
        var cookies = context.HttpContext.Request.Cookies;
        if (!cookies.ContainsKey(name))
        {
            return;
        }
        context.ProxyRequest.Headers.Remove(HeaderNames.Cookie);
        var others = string.Join("; ", cookies.Where(c => c.Key != name).Select(c => c.Key + "=" + c.Value));
        if (others.Length > 0)
        {
            context.ProxyRequest.Headers.TryAddWithoutValidation(HeaderNames.Cookie, others);
        }
    }

    private static string ClientAddress(HttpContext context)
        => context.Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : "";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripped internal header(s) sent by client {ClientIp}: {Headers} (request {RequestId})")]
    private static partial void LogForged(ILogger logger, string? clientIp, string headers, string requestId);
}
