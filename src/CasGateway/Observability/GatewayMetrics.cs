using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using CasGateway.Anchoring;

namespace CasGateway.Observability;

/// <summary>State of a gateway component as the health checks see it (Exchange's server component states).</summary>
public enum ComponentHealth
{
    Inactive = 0,
    Draining = 1,
    Active = 2,
}

/// <summary>State of a circuit breaker in front of one backend server.</summary>
public enum CircuitState
{
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

/// <summary>
/// The <c>CasGateway</c> meter. The protocol log records every finished request here; the health, retry and
/// circuit-breaker code feed their own instruments through the public methods.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "CasGateway";

    /// <summary>Seconds, from 1 ms to a minute (long polls fall in the last bucket).</summary>
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    };

    /// <summary>HTTP status codes boxed once, so that tagging a request with its status allocates nothing.</summary>
    private static readonly object[] Statuses = Enumerable.Range(0, 600).Select(static status => (object)status).ToArray();

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _locateDuration;
    private readonly Histogram<double> _backendFirstByte;
    private readonly Counter<long> _cookieLookups;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _staleLocations;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _circuitTransitions;
    private readonly Counter<long> _refusals;
    private readonly Counter<long> _loginFailures;
    private readonly Counter<long> _loginRefusals;
    private readonly Counter<long> _loginLockouts;
    private readonly ConcurrentDictionary<string, ComponentHealth> _components = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, CircuitState> _circuits = new(StringComparer.OrdinalIgnoreCase);

    public GatewayMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("casgateway.requests", "{request}", "Finished requests by protocol family, routing decision and HTTP status.");
        _requestDuration = meter.CreateHistogram("casgateway.request.duration", "s", "Whole request, from arrival to the last byte sent.", advice: LatencyBuckets);
        _locateDuration = meter.CreateHistogram("casgateway.locate.duration", "s", "Time to locate a mailbox through the locator cache or the locator.", advice: LatencyBuckets);
        _backendFirstByte = meter.CreateHistogram("casgateway.backend.time_to_first_byte", "s", "From sending a request to a mailbox server until its response headers arrived.", advice: LatencyBuckets);
        _cookieLookups = meter.CreateCounter<long>("casgateway.backend_cookie.lookups", "{lookup}", "Mailbox requests whose server the backend cookie decided (hit) or not (miss).");
        _cacheLookups = meter.CreateCounter<long>("casgateway.locator_cache.lookups", "{lookup}", "Locates answered by the locator cache (hit) or by the locator (miss).");
        _staleLocations = meter.CreateCounter<long>("casgateway.locator.stale_answers", "{answer}",
            "Locations served past their time-to-live (within the stale period) because the locator was unavailable.");
        _retries = meter.CreateCounter<long>("casgateway.retries", "{retry}", "Requests sent again to another server.");
        _circuitTransitions = meter.CreateCounter<long>("casgateway.circuit_breaker.transitions", "{transition}", "Circuit breaker state changes per backend server.");
        _refusals = meter.CreateCounter<long>("casgateway.refusals", "{response}", "The gateway's own error answers by status and error code (e.g. 503 LocatorUnavailable, 400 InvalidHeader).");
        _loginFailures = meter.CreateCounter<long>("casgateway.login.failures", "{attempt}", "Logins with wrong credentials, by protocol.");
        _loginRefusals = meter.CreateCounter<long>("casgateway.login.refusals", "{attempt}",
            "Logins refused, by protocol and reason: before the password was checked (backoff, lockout, busy, connections) or after it, the user being at the mail session cap (sessions).");
        _loginLockouts = meter.CreateCounter<long>("casgateway.login.lockouts", "{lockout}", "Accounts and source addresses locked after too many failed logins, by scope.");
        meter.CreateObservableGauge("casgateway.component.state", ObserveComponents, "{state}", "Health state per component: 0 Inactive, 1 Draining, 2 Active.");
        meter.CreateObservableGauge("casgateway.circuit_breaker.state", ObserveCircuits, "{state}", "Circuit breaker per backend server: 0 Closed, 1 HalfOpen, 2 Open.");
    }

    /// <summary>Reports a component's health state (e.g. <c>OwaProxy</c>, <c>ServerWideOffline</c>).</summary>
    public void SetComponentState(string component, ComponentHealth state) => _components[component] = state;

    /// <summary>Counts one of the gateway's own error answers; <paramref name="errorCode"/> comes from a fixed set, never from the client.</summary>
    public void RecordRefusal(int status, string errorCode)
        => _refusals.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("code", errorCode));

    /// <summary>Counts a location served stale: the locator failed and the cache still knew the mailbox.</summary>
    public void RecordStaleLocation() => _staleLocations.Add(1);

    /// <summary>Counts one retry of a request of <paramref name="family"/>, e.g. reason <c>DbMountedElsewhere</c>.</summary>
    public void RecordRetry(ProtocolFamily family, string reason)
        => _retries.Add(1, new KeyValuePair<string, object?>("family", family.ToString()), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Reports a circuit breaker's state; a change is also counted as a transition.</summary>
    public void SetCircuitState(string server, CircuitState state)
    {
        var previous = _circuits.GetValueOrDefault(server, CircuitState.Closed);
        _circuits[server] = state;
        if (previous != state)
        {
            _circuitTransitions.Add(1, new KeyValuePair<string, object?>("server", server), new KeyValuePair<string, object?>("state", state.ToString()));
        }
    }

    /// <summary>Counts a login with wrong credentials over <paramref name="protocol"/> (<c>Basic</c>, <c>IMAP</c>…).</summary>
    public void RecordLoginFailure(string protocol) => _loginFailures.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    /// <summary>Counts a login refused: unchecked (<c>backoff</c>, <c>lockout</c>, <c>busy</c> hashing at capacity, <c>connections</c>), or <c>sessions</c> (the user at the mail session cap).</summary>
    public void RecordLoginRefusal(string protocol, string reason)
        => _loginRefusals.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts a lockout of an <c>account</c> or a <c>source</c>.</summary>
    public void RecordLockout(string scope) => _loginLockouts.Add(1, new KeyValuePair<string, object?>("scope", scope));

    internal void RecordRequest(RequestSummary request)
    {
        var family = new KeyValuePair<string, object?>("family", request.Family);
        var tags = new TagList { family, { "decision", request.Decision }, { "status", BoxedStatus(request.Status) } };
        _requests.Add(1, tags);
        _requestDuration.Record(request.Total.TotalSeconds, family);
        if (request.CookieHit is { } cookieHit)
        {
            _cookieLookups.Add(1, new KeyValuePair<string, object?>("result", cookieHit ? "hit" : "miss"));
        }
        if (request.CacheHit is { } cacheHit)
        {
            _cacheLookups.Add(1, new KeyValuePair<string, object?>("result", cacheHit ? "hit" : "miss"));
            _locateDuration.Record(request.Locate.TotalSeconds, new KeyValuePair<string, object?>("source", cacheHit ? "cache" : "locator"));
        }
        if (request.BackendFirstByte is { } firstByte)
        {
            _backendFirstByte.Record(firstByte.TotalSeconds, new KeyValuePair<string, object?>("server", request.Server));
        }
    }

    private static object BoxedStatus(int status) => (uint)status < (uint)Statuses.Length ? Statuses[status] : status;

    private IEnumerable<Measurement<int>> ObserveComponents()
    {
        foreach (var (component, state) in _components)
        {
            yield return new Measurement<int>((int)state, new KeyValuePair<string, object?>("component", component));
        }
    }

    private IEnumerable<Measurement<int>> ObserveCircuits()
    {
        foreach (var (server, state) in _circuits)
        {
            yield return new Measurement<int>((int)state, new KeyValuePair<string, object?>("server", server));
        }
    }
}

/// <summary>What the metrics need of one finished request.</summary>
internal readonly record struct RequestSummary(
    string Family,
    string Decision,
    int Status,
    TimeSpan Total,
    bool? CookieHit,
    bool? CacheHit,
    TimeSpan Locate,
    string? Server,
    TimeSpan? BackendFirstByte);
