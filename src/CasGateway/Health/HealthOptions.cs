using System.ComponentModel.DataAnnotations;

namespace CasGateway.Health;

/// <summary><c>Gateway:Health</c>: health probes, component states, drain and shutdown.</summary>
public sealed class HealthOptions
{
    public const string Section = "Gateway:Health";

    /// <summary>Plain-HTTP port for probes only (<c>/healthz</c>, <c>/readyz</c>, <c>healthcheck.htm</c>); 0 = a free port; absent = none.</summary>
    [Range(0, 65535)]
    public int? ManagementPort { get; set; }

    /// <summary>Address the management port binds: <c>Any</c>, <c>Loopback</c> or a literal; absent = the client listener's.</summary>
    public string? ManagementAddress { get; set; }

    /// <summary>
    /// How long a drained component keeps serving after its health turned 503, so balancers notice; at its end
    /// long-lived requests are ended and responses ask clients to close their connections.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DrainGracePeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>After SIGTERM's drain, how long in-flight requests get to finish before the process exits.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the dependency checks (locator, backends) run, by ASP.NET Core's health check publisher (hence at
    /// least a second); probes read the last result.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bound on the locator check's lookup (the backends' health comes from YARP's probes, bounded by <c>Gateway:Backend:Health:ActiveTimeout</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>What a failing <c>healthcheck.htm</c> does: answer 503, or close the connection as Exchange does.</summary>
    public HealthFailureMode FailureMode { get; set; } = HealthFailureMode.Status503;

    /// <summary>Where component states are kept across restarts (relative to the content root); absent = <c>&lt;DataPath&gt;/component-states.json</c>.</summary>
    public string? StateFile { get; set; }

    /// <summary>Role (bearer token <c>roles</c> claim) that may change component states; empty = no role grants it.</summary>
    public string AdminRole { get; set; } = "CasGateway.Admin";

    /// <summary>Basic-authenticated user names that may change component states.</summary>
    public List<string> AdminUsers { get; set; } = [];

    /// <summary>
    /// SHA-256 thumbprints of client certificates that may change component states. When any is set, the client
    /// listener asks for an optional client certificate during the TLS handshake.
    /// </summary>
    public List<string> AdminCertificateThumbprints { get; set; } = [];

    /// <summary>
    /// Initial states, used while no state file exists: component → requester → state, e.g.
    /// <c>"Owa": { "Maintenance": "Inactive" }</c>.
    /// </summary>
    public Dictionary<string, Dictionary<string, ComponentState>> Components { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public enum HealthFailureMode
{
    /// <summary>503 with a short body.</summary>
    Status503,

    /// <summary>Close the connection without an answer (Exchange's behaviour).</summary>
    CloseConnection,
}
