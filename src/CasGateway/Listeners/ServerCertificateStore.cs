using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

/// <summary>
/// The certificates shown to clients, chosen per TLS handshake by SNI host name. Reloaded when the files or the
/// configuration change; a failed reload keeps the certificates in use and logs why.
/// </summary>
public sealed class ServerCertificateStore : IDisposable
{
    private readonly IOptionsMonitor<ListenerOptions> _options;
    private readonly string _contentRoot;
    private readonly string _selfSignedPath;
    private readonly ILogger<ServerCertificateStore> _logger;
    private readonly IDisposable? _optionsSubscription;
    private readonly Lock _reloadLock = new();
    private CertificateSet _current;
    private IDisposable? _fileWatch;
    private int _reloadPending;
    private volatile bool _disposed;

    public ServerCertificateStore(
        IOptionsMonitor<ListenerOptions> options,
        IOptions<GatewayOptions> gateway,
        IHostEnvironment environment,
        ILogger<ServerCertificateStore> logger)
    {
        _options = options;
        _logger = logger;
        _contentRoot = environment.ContentRootPath;
        _selfSignedPath = Path.Combine(environment.ResolveDataPath(gateway.Value), "tls", "localhost.pfx");
        _current = Build(options.CurrentValue);
        Watch(options.CurrentValue);
        _optionsSubscription = options.OnChange(_ => Reload());
    }

    /// <summary>Kestrel's <c>ServerCertificateSelector</c>.</summary>
    public X509Certificate2 Select(string? hostName)
    {
        var set = Volatile.Read(ref _current);
        if (hostName is not null)
        {
            if (set.ByHost.TryGetValue(hostName, out var exact))
            {
                return exact;
            }
            var dot = hostName.IndexOf('.');
            if (dot > 0 && set.ByHost.TryGetValue("*" + hostName[dot..], out var wildcard))
            {
                return wildcard;
            }
        }
        return set.Default;
    }

    /// <summary>
    /// The prebuilt TLS context of the certificate that serves every host name, when only one is configured (null
    /// when SNI chooses between several: then <see cref="Select"/> does, per handshake).
    /// </summary>
    public SslStreamCertificateContext? SingleContext => Volatile.Read(ref _current).Only;

    /// <summary>Reloads every certificate now; on failure the current ones stay.</summary>
    public void Reload()
    {
        lock (_reloadLock)
        {
            try
            {
                var options = _options.CurrentValue;
                var next = Build(options);
                Volatile.Write(ref _current, next);
                Watch(options);
                _logger.LogInformation("Server certificates reloaded; default {Thumbprint}", next.Default.Thumbprint);
            }
            catch (Exception ex) when (ex is CertificateLoadException)
            {
                _logger.LogError("Certificate reload rejected, keeping the certificates in use: {Problem}", ex.Message);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _optionsSubscription?.Dispose();
        _fileWatch?.Dispose();
    }

    private CertificateSet Build(ListenerOptions options)
    {
        X509Certificate2? fallback = null;
        var byHost = new Dictionary<string, X509Certificate2>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Certificates.Count; i++)
        {
            var entry = options.Certificates[i];
            var key = $"{ListenerOptions.Section}:Certificates:{i}";
            X509Certificate2 certificate;
            try
            {
                certificate = CertificateFiles.Load(
                    Path.GetFullPath(entry.Path, _contentRoot),
                    entry.KeyPath is null ? null : Path.GetFullPath(entry.KeyPath, _contentRoot),
                    entry.Password);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidOperationException or ArgumentException)
            {
                throw new CertificateLoadException($"{key}:Path: cannot load '{entry.Path}': {ex.Message}", ex);
            }
            if (!certificate.HasPrivateKey)
            {
                throw new CertificateLoadException($"{key}: '{entry.Path}' has no private key.");
            }
            if (entry.HostNames.Count == 0)
            {
                fallback ??= certificate;
            }
            foreach (var host in entry.HostNames)
            {
                byHost[host] = certificate;
            }
        }
        fallback ??= options.Certificates.Count > 0
            ? byHost.Values.First()
            : CertificateFiles.LoadOrCreateSelfSigned(_selfSignedPath, "localhost", ["localhost"]);
        // One certificate for every name (the usual case): its TLS context, chain included, is built once here
        // instead of by every handshake from the certificate a selector returns.
        var only = byHost.Values.All(c => ReferenceEquals(c, fallback))
            ? SslStreamCertificateContext.Create(fallback, additionalCertificates: null)
            : null;
        return new CertificateSet(fallback, byHost.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase), only);
    }

    private void Watch(ListenerOptions options)
    {
        _fileWatch?.Dispose();
        var files = options.Certificates
            .SelectMany(c => new[] { c.Path, c.KeyPath })
            .OfType<string>()
            .Select(p => Path.GetFullPath(p, _contentRoot))
            .ToList();
        _fileWatch = files.Count == 0 ? null : new FileChangeWatcher(files, ScheduleReload);
    }

    /// <summary>One reload for a burst of file events.</summary>
    private void ScheduleReload()
    {
        if (Interlocked.Exchange(ref _reloadPending, 1) == 0)
        {
            _ = ReloadSoonAsync();
        }
    }

    private async Task ReloadSoonAsync()
    {
        // Certificate and key are usually replaced one after the other: let both land first.
        await Task.Delay(TimeSpan.FromMilliseconds(250));
        Volatile.Write(ref _reloadPending, 0);
        // Stopped meanwhile (e.g. the host shut down and its folder is being removed): nothing left to reload for.
        if (!_disposed)
        {
            Reload();
        }
    }

    private sealed record CertificateSet(X509Certificate2 Default, FrozenDictionary<string, X509Certificate2> ByHost, SslStreamCertificateContext? Only);
}

/// <summary>A configured certificate could not be used.</summary>
public sealed class CertificateLoadException(string message, Exception? inner = null) : Exception(message, inner);
