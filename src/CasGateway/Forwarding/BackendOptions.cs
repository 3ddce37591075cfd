using System.ComponentModel.DataAnnotations;
using CasGateway.BackendAuth;

namespace CasGateway.Forwarding;

/// <summary><c>Gateway:Backend</c>: the pooled privileged channel to mailbox servers.</summary>
public sealed class BackendOptions
{
    public const string Section = "Gateway:Backend";

    /// <summary>Most connections to one mailbox server; requests beyond it wait for a free connection.</summary>
    [Range(1, 10_000)]
    public int MaxConnectionsPerServer { get; set; } = 64;

    /// <summary>How long to wait for a TCP + TLS connection to a mailbox server.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>An idle pooled connection is closed after this long.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>A pooled connection is retired after this long, so DNS and certificate changes are picked up.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Longest silence on a forwarded request before it is cancelled. Long-lived requests (ActiveSync Ping with
    /// heartbeats up to 59 minutes, MAPI NotificationWait, RPC_OUT_DATA) need a generous value.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "02:00:00")]
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Speak HTTP/2 to backends (several multiplexed connections per server) instead of HTTP/1.1.</summary>
    public bool UseHttp2 { get; set; }

    /// <summary>The gateway's client certificate for mutual TLS to backends (PFX, or PEM with KeyPath).</summary>
    public ClientCertificateOptions? ClientCertificate { get; set; }

    /// <summary>SHA-256 thumbprints of backend server certificates to trust (pinning).</summary>
    public List<string> TrustedServerCertificateThumbprints { get; set; } = [];

    /// <summary>PEM file of CA certificates that issue backend server certificates.</summary>
    public string? TrustedCaPath { get; set; }

    [Required]
    public IdentityHeaderOptions Identity { get; set; } = new();

    [Required]
    public BackendRetryOptions Retry { get; set; } = new();

    [Required]
    public BackendHealthOptions Health { get; set; } = new();
}

/// <summary><c>Gateway:Backend:Retry</c>: retrying on the new active copy or after a failed connect.</summary>
public sealed class BackendRetryOptions
{
    /// <summary>Retries after the first attempt (Exchange: 2).</summary>
    [Range(0, 5)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Request bodies up to this size are buffered before forwarding so the request can be retried; larger or
    /// chunked bodies stream and are never retried.
    /// </summary>
    [Range(0, 16 * 1024 * 1024)]
    public int MaxBufferedBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Pause before retrying after a connect failure (lets a directory switchover land).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ConnectFailureDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary><c>Gateway:Backend:Health</c>: passive and active health of mailbox servers, and the per-server breaker.</summary>
public sealed class BackendHealthOptions
{
    /// <summary>Probe each server's health URL in the background.</summary>
    public bool ActiveEnabled { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ActiveInterval { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ActiveTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Path probed on each server (answered without a caller identity).</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "ActivePath must start with '/'.")]
    public string ActivePath { get; set; } = "/healthcheck.htm";

    /// <summary>Mark a server unhealthy from live traffic (transport failure rate).</summary>
    public bool PassiveEnabled { get; set; } = true;

    /// <summary>How long a server marked unhealthy by live traffic is skipped before it is tried again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ReactivationPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of failed connects per server in the sampling window that opens its circuit breaker.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 4;

    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>While a server's breaker is open, requests to it fail in microseconds instead of a connect timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(3);
}

public enum IdentitySigningAlgorithm
{
    EcdsaP256,
    HmacSha256,
}

public sealed class ClientCertificateOptions
{
    [Required]
    public string Path { get; set; } = "";

    public string? KeyPath { get; set; }

    public string? Password { get; set; }
}

/// <summary><c>Gateway:Backend:Identity</c>: the signed header that tells a backend who the caller is.</summary>
public sealed class IdentityHeaderOptions
{
    [Required]
    [RegularExpression("^[A-Za-z0-9-]{1,64}$", ErrorMessage = "HeaderName must be a plain header name.")]
    public string HeaderName { get; set; } = GatewayHeaders.Identity;

    /// <summary>
    /// <c>EcdsaP256</c> (default): tokens signed with <see cref="PrivateKeyPath"/>, backends verify with the public
    /// key only. <c>HmacSha256</c>: the legacy shared <see cref="SigningKey"/>, with which any backend can mint tokens.
    /// </summary>
    public IdentitySigningAlgorithm Algorithm { get; set; } = IdentitySigningAlgorithm.EcdsaP256;

    /// <summary>PEM file of the gateway's ECDSA P-256 private key (generated in demo mode); keep it mode 0600.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>Legacy (<c>Algorithm: HmacSha256</c> only): base64 HMAC-SHA256 key shared with the backends, at least 32 bytes.</summary>
    public string SigningKey { get; set; } = "";

    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);
}
