using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using CasGateway.Anchoring;
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
    /// <summary>The 38 fields, <c>UrlQuery</c>, and <c>SourceContext</c> and <c>ConnectionId</c> added by the logger.</summary>
    private const int PropertyCapacity = 41;
    private static readonly ScalarValue True = new(true);
    private static readonly ScalarValue False = new(false);
    private static readonly ScalarValue NoFamilyValue = new(NoFamily);
    private static readonly FrozenDictionary<ProtocolFamily, ScalarValue> FamilyNames =
        Enum.GetValues<ProtocolFamily>().ToFrozenDictionary(family => family, family => new ScalarValue(family.ToString()));
    private static readonly ScalarValue CookieHit = new("Hit");
    private static readonly ScalarValue CookieMiss = new("Miss");
    private static readonly ScalarValue ByCookie = new("BackEndCookie");
    private static readonly ScalarValue ByLocatorCache = new("LocatorCache");
    private static readonly ScalarValue ByLocator = new("Locator");
    private static readonly ScalarValue ByTargetServer = new("TargetServer");
    private static readonly ScalarValue ByAnyServer = new("AnyServer");
    private static readonly ScalarValue ProxyValue = new("Proxy");
    private static readonly ScalarValue CrossSiteProxyValue = new("CrossSiteProxy");
    private static readonly ScalarValue RedirectValue = new("Redirect");
    private static readonly ScalarValue RejectedValue = new("Rejected");
    private static readonly ScalarValue LocalValue = new("Local");
    private static readonly MessageTemplate Template = new MessageTemplateParser().Parse(
        "{Method} {UrlStem} {HttpStatus} {ProxyAction} {TargetServer} {TotalRequestTime} ms");

    private readonly Serilog.ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly IOptionsMonitor<ProtocolLogOptions> _options;
    private readonly IMailboxLocator _locator;
    private readonly ILocatorStore _store;
    private readonly string? _site;
    private readonly ScalarValue _nodeValue;

    public ProtocolLogWriter(LogPipeline logs, GatewayMetrics metrics, IOptionsMonitor<ProtocolLogOptions> options, IMailboxLocator locator, ILocatorStore store, IOptions<GatewayOptions> gateway)
    {
        _store = store;
        _logger = logs.Logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, SourceContext);
        _metrics = metrics;
        _options = options;
        _locator = locator;
        _nodeValue = new ScalarValue(gateway.Value.NodeName);
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
        // The log's values of the protocol and the action are made once; the metrics take their text.
        var protocolValue = family is { } known ? FamilyNames[known] : NoFamilyValue;
        var protocol = (string)protocolValue.Value!;
        var status = context.Response.StatusCode;
        var forwarded = record.BackendSent != 0;
        var server = TargetOf(context, plan);
        var errorCode = ErrorCodeOf(context, record, status);
        var actionValue = forwarded
            ? (_site is not null && server is not null && !string.Equals(server.Site, _site, StringComparison.OrdinalIgnoreCase) ? CrossSiteProxyValue : ProxyValue)
            : plan?.Action == RouteAction.Redirect ? RedirectValue
            : errorCode is not null || status >= 400 ? RejectedValue : LocalValue;
        var action = (string)actionValue.Value!;
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
        var authenticated = user.Identity?.IsAuthenticated == true;
        var remote = context.Connection.RemoteIpAddress;
        var span = record.Activity;
        var traceId = ClientTraceContext.TraceIdOf(span, request.Headers[ClientTraceContext.TraceParent]);
        // Built straight into the dictionary the event keeps (no list of LogEventProperty copied into a new one);
        // the values every request shares (null, true/false, fixed names) are allocated once.
        var properties = new Dictionary<string, LogEventPropertyValue>(PropertyCapacity)
        {
            ["DateTime"] = new ScalarValue(record.StartedAt.ToString("o", CultureInfo.InvariantCulture)),
            ["RequestId"] = Text(context.TraceIdentifier),
            ["TraceId"] = new ScalarValue(traceId.ToHexString()),
            ["ClientRequestId"] = Text(HeaderText(request.Headers["client-request-id"])),
            ["Protocol"] = protocolValue,
            ["Method"] = Text(request.Method),
            ["UrlHost"] = Text(Capped(request.Host.Host)),
            ["UrlStem"] = Text(request.PathBase.Add(request.Path).Value),
            ["ClientIpAddress"] = Text(remote is null ? null : (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString()),
            ["ClientPort"] = new ScalarValue(context.Connection.RemotePort),
            ["UserAgent"] = Text(HeaderText(request.Headers.UserAgent)),
            ["AuthenticationType"] = Text(GatewayClaims.MethodOf(user)),
            ["IsAuthenticated"] = authenticated ? True : False,
            ["AuthenticatedUser"] = Text(authenticated ? GatewayClaims.AddressOf(user) ?? user.Identity!.Name : null),
            ["AnchorMailbox"] = Text(plan?.Anchor?.Address),
            ["RoutingHint"] = Text(plan?.HintSource),
            ["RoutingType"] = RoutingTypeOf(plan),
            ["LocatorStore"] = plan?.Source == RouteSource.Locator ? Text(_store.StoreName) : ScalarValue.Null,
            ["BackEndCookie"] = plan is null ? ScalarValue.Null : fromCookie ? CookieHit : plan.CookieEntries.Count > 0 ? CookieMiss : ScalarValue.Null,
            ["ProxyAction"] = actionValue,
            ["RoutingRule"] = Text(plan?.Rule),
            ["ErrorCode"] = Text(errorCode),
            ["TargetServer"] = Text(server?.Fqdn),
            ["TargetServerVersion"] = Text(server?.Version.ToString()),
            ["TargetSite"] = Text(server?.Site),
            ["Database"] = Text(plan?.Database),
            ["ServerHostName"] = _nodeValue,
            ["HttpStatus"] = new ScalarValue(status),
            ["BackEndStatus"] = new ScalarValue(record.BackendStatus),
            ["RetryCount"] = new ScalarValue(routing?.RetryCount ?? 0),
            ["ServerLocatorLatency"] = Milliseconds(located ? plan!.LocatorLatency : null),
            ["BackendConnectLatency"] = Milliseconds(forwarded ? record.BackendConnectWait : null),
            ["BackendFirstByteLatency"] = Milliseconds(firstByte),
            ["BackendTotalLatency"] = Milliseconds(backendTotal),
            ["HttpProxyOverhead"] = Milliseconds(total - (backendTotal ?? TimeSpan.Zero)),
            ["TotalRequestTime"] = Milliseconds(total),
            ["RequestBytes"] = new ScalarValue(record.RequestBody?.Count ?? 0),
            ["ResponseBytes"] = new ScalarValue(record.ResponseBody?.Count ?? 0),
        };
        if (_options.CurrentValue.KeepsQuery(family))
        {
            properties["UrlQuery"] = new ScalarValue(request.QueryString.Value ?? "");
        }
        _logger.Write(LogEvent.UnstableAssembleFromParts(DateTimeOffset.UtcNow, level, null, Template, properties, traceId, span?.SpanId ?? default));
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

    private static ScalarValue RoutingTypeOf(RoutePlan? plan) => plan?.Source switch
    {
        RouteSource.BackEndCookie => ByCookie,
        RouteSource.LocatorCache => ByLocatorCache,
        RouteSource.Locator => ByLocator,
        RouteSource.TargetServer => ByTargetServer,
        RouteSource.AnyServer => ByAnyServer,
        _ => ScalarValue.Null,
    };

    private static string? Capped(string? text) => text is { Length: > MaxHeaderText } ? text[..MaxHeaderText] : text;

    /// <summary>A header's value, capped; null when the client did not send it.</summary>
    private static string? HeaderText(StringValues values) => values.Count == 0 ? null : Capped(values.ToString());

    private static ScalarValue Milliseconds(TimeSpan? time) => time is { } t ? new ScalarValue(Math.Round(t.TotalMilliseconds, 3)) : ScalarValue.Null;

    private static ScalarValue Text(string? text) => text is null ? ScalarValue.Null : new ScalarValue(text);
}
