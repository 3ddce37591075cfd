using System.Diagnostics;
using System.Globalization;
using CasGateway.Authentication;
using CasGateway.Configuration;
using CasGateway.Location;
using CasGateway.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Serilog.Events;
using Serilog.Parsing;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Observability;

/// <summary>
/// Turns one finished request into its protocol log event (field names in docs/protocol-log.md, Exchange's where it
/// has one) and its request metrics. Only facts the gateway decided or measured are written: no header values other
/// than the user agent and the client's request id, and the query string only where configuration allows it.
/// </summary>
internal sealed class ProtocolLogWriter
{
    public const string SourceContext = "CasGateway.ProtocolLog";
    public const string NoFamily = "None";

    private const int MaxHeaderText = 512;
    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse(
        "{Method} {UrlStem} {HttpStatus} {ProxyAction} {TargetServer} {TotalRequestTime} ms");

    private readonly Serilog.ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly IOptionsMonitor<ProtocolLogOptions> _options;
    private readonly IMailboxLocator _locator;
    private readonly ILocatorStore _store;
    private readonly string _node;
    private readonly string? _site;

    public ProtocolLogWriter(LogPipeline logs, GatewayMetrics metrics, IOptionsMonitor<ProtocolLogOptions> options, IMailboxLocator locator, ILocatorStore store, IOptions<GatewayOptions> gateway)
    {
        _store = store;
        _logger = logs.Logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, SourceContext);
        _metrics = metrics;
        _options = options;
        _locator = locator;
        _node = gateway.Value.NodeName;
        _site = gateway.Value.Site;
    }

    public void Write(HttpContext context)
    {
        if (context.Features.Get<RequestRecord>() is not { } record)
        {
            return;
        }
        var ended = Stopwatch.GetTimestamp();
        var routing = context.Features.Get<RoutePlanFeature>();
        var plan = routing?.Plan;
        var family = context.Features.Get<IGatewayRequestFeature>()?.Family;
        var protocol = family?.ToString() ?? NoFamily;
        var status = context.Response.StatusCode;
        var forwarded = record.BackendSent != 0;
        var server = TargetOf(context, plan);
        var errorCode = ErrorCodeOf(context, record, status);
        var action = forwarded
            ? (_site is not null && server is not null && !string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase) ? "CrossSiteProxy" : "Proxy")
            : plan?.Action == RouteAction.Redirect ? "Redirect"
            : errorCode is not null || status >= 400 ? "Rejected" : "Local";
        var total = Stopwatch.GetElapsedTime(record.Started, ended);
        var backendTotal = forwarded ? Stopwatch.GetElapsedTime(record.BackendSent, record.HandlerEnded) : (TimeSpan?)null;
        var firstByte = forwarded && record.BackendFirstByte != 0 ? Stopwatch.GetElapsedTime(record.BackendSent, record.BackendFirstByte) : (TimeSpan?)null;
        var located = plan is { Anchor: not null };
        var fromCookie = plan?.Source == RouteSource.BackEndCookie;

        _metrics.RecordRequest(new RequestSummary(
            protocol,
            action,
            status,
            total,
            CookieHit: located ? fromCookie : null,
            CacheHit: located && !fromCookie ? plan!.Source == RouteSource.LocatorCache : null,
            plan?.LocatorLatency ?? TimeSpan.Zero,
            server?.Fqdn,
            firstByte));

        var level = status >= 500 ? LogEventLevel.Warning : LogEventLevel.Information;
        if (!_logger.IsEnabled(level))
        {
            return;
        }
        var request = context.Request;
        var user = context.User;
        var remote = context.Connection.RemoteIpAddress;
        var span = record.Activity;
        var traceId = ClientTraceContext.TraceIdOf(span, request.Headers[ClientTraceContext.TraceParent]);
        var properties = new List<LogEventProperty>(40)
        {
            Property("DateTime", record.StartedAt.ToString("o", CultureInfo.InvariantCulture)),
            Property("RequestId", context.TraceIdentifier),
            Property("TraceId", traceId.ToHexString()),
            Property("ClientRequestId", HeaderText(request.Headers["client-request-id"])),
            Property("Protocol", protocol),
            Property("Method", request.Method),
            Property("UrlHost", Capped(request.Host.Host)),
            Property("UrlStem", request.PathBase.Add(request.Path).Value),
            Property("ClientIpAddress", remote is null ? null : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString()),
            Property("ClientPort", context.Connection.RemotePort),
            Property("UserAgent", HeaderText(request.Headers.UserAgent)),
            Property("AuthenticationType", GatewayClaims.MethodOf(user)),
            Property("IsAuthenticated", user.Identity?.IsAuthenticated == true),
            Property("AuthenticatedUser", user.Identity?.IsAuthenticated == true ? GatewayClaims.AddressOf(user) ?? user.Identity.Name : null),
            Property("AnchorMailbox", plan?.Anchor?.Address),
            Property("RoutingHint", plan?.HintSource),
            Property("RoutingType", RoutingTypeOf(plan)),
            Property("LocatorStore", plan?.Source == RouteSource.Locator ? _store.StoreName : null),
            Property("BackEndCookie", plan is null ? null : fromCookie ? "Hit" : plan.CookieEntries.Count > 0 ? "Miss" : null),
            Property("ProxyAction", action),
            Property("RoutingRule", plan?.Rule),
            Property("ErrorCode", errorCode),
            Property("TargetServer", server?.Fqdn),
            Property("TargetServerVersion", server?.Version.ToString()),
            Property("TargetSite", server?.Site),
            Property("Database", plan?.Database),
            Property("ServerHostName", _node),
            Property("HttpStatus", status),
            Property("BackEndStatus", record.BackendStatus),
            Property("RetryCount", routing?.RetryCount ?? 0),
            Property("ServerLocatorLatency", located ? Milliseconds(plan!.LocatorLatency) : null),
            Property("BackendConnectLatency", forwarded ? Milliseconds(record.BackendConnectWait) : null),
            Property("BackendFirstByteLatency", Milliseconds(firstByte)),
            Property("BackendTotalLatency", Milliseconds(backendTotal)),
            Property("HttpProxyOverhead", Milliseconds(total - (backendTotal ?? TimeSpan.Zero))),
            Property("TotalRequestTime", Milliseconds(total)),
            Property("RequestBytes", record.RequestBody?.Count ?? 0),
            Property("ResponseBytes", record.ResponseBody?.Count ?? 0),
        };
        if (_options.CurrentValue.KeepsQuery(family))
        {
            properties.Add(Property("UrlQuery", request.QueryString.Value ?? ""));
        }
        _logger.Write(new LogEvent(DateTimeOffset.UtcNow, level, null, Template, properties, traceId, span?.SpanId ?? default));
    }

    /// <summary>The chosen server: the plan's, or for "any server" requests the destination YARP picked.</summary>
    private MailboxServer? TargetOf(HttpContext context, RoutePlan? plan)
    {
        if (plan?.Server is { } server)
        {
            return server;
        }
        if (context.Features.Get<IReverseProxyFeature>()?.ProxiedDestination?.DestinationId is not { } fqdn)
        {
            return null;
        }
        foreach (var known in _locator.Servers)
        {
            if (string.Equals(known.Fqdn, fqdn, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }
        return null;
    }

    private static string? ErrorCodeOf(HttpContext context, RequestRecord record, int status)
    {
        if (record.ErrorCode is { } code)
        {
            return code;
        }
        if (context.Features.Get<IForwarderErrorFeature>() is { Error: not ForwarderError.None } failure)
        {
            return "Forwarder" + failure.Error;
        }
        return status switch
        {
            StatusCodes.Status401Unauthorized => context.Request.Headers.Authorization.Count == 0 ? "NoCredentials" : "AuthenticationFailed",
            StatusCodes.Status403Forbidden => "Forbidden",
            StatusCodes.Status404NotFound when context.GetEndpoint() is null => "NoRoute",
            _ => null,
        };
    }

    private static string? RoutingTypeOf(RoutePlan? plan) => plan?.Source switch
    {
        RouteSource.BackEndCookie => "BackEndCookie",
        RouteSource.LocatorCache => "LocatorCache",
        RouteSource.Locator => "Locator",
        RouteSource.TargetServer => "TargetServer",
        RouteSource.AnyServer => "AnyServer",
        _ => null,
    };

    private static string? Capped(string? text) => text is { Length: > MaxHeaderText } ? text[..MaxHeaderText] : text;

    /// <summary>A header's value, capped; null when the client did not send it.</summary>
    private static string? HeaderText(StringValues values) => values.Count == 0 ? null : Capped(values.ToString());

    private static double? Milliseconds(TimeSpan? time) => time is { } t ? Math.Round(t.TotalMilliseconds, 3) : null;

    private static LogEventProperty Property(string name, object? value) => new(name, new ScalarValue(value));
}
