using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Listeners;
using CasGateway.Observability;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Forwarding;

/// <summary>
/// Builds YARP's forwarding client: one pooled <see cref="SocketsHttpHandler"/> shared by every request, with the
/// gateway's client certificate for mutual TLS and backend certificates checked against pinned thumbprints or a CA.
/// </summary>
public sealed class BackendChannelFactory : ForwarderHttpClientFactory
{
    private readonly BackendOptions _options;
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2Collection _trustedCas = [];

    private readonly TimeProvider _clock;
    private readonly GatewayMetrics _metrics;
    private readonly bool _tracing;

    public BackendChannelFactory(
        IOptions<BackendOptions> options,
        IOptions<TelemetryOptions> telemetry,
        IHostEnvironment environment,
        TimeProvider clock,
        GatewayMetrics metrics,
        ILogger<ForwarderHttpClientFactory> logger)
        : base(logger)
    {
        _options = options.Value;
        _clock = clock;
        _metrics = metrics;
        _tracing = telemetry.Value.TracingEnabled();
        if (_options.ClientCertificate is { } client)
        {
            _clientCertificate = CertificateFiles.Load(
                Path.GetFullPath(client.Path, environment.ContentRootPath),
                client.KeyPath is null ? null : Path.GetFullPath(client.KeyPath, environment.ContentRootPath),
                client.Password);
        }
        if (_options.TrustedCaPath is { } caPath)
        {
            _trustedCas.ImportFromPemFile(Path.GetFullPath(caPath, environment.ContentRootPath));
        }
    }

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectTimeout = _options.ConnectTimeout;
        handler.PooledConnectionIdleTimeout = _options.PooledConnectionIdleTimeout;
        handler.PooledConnectionLifetime = _options.PooledConnectionLifetime;
        handler.MaxConnectionsPerServer = _options.MaxConnectionsPerServer;
        handler.EnableMultipleHttp2Connections = true;
        if (!_tracing)
        {
            // No span to propagate: without a propagator the handler skips its diagnostics layer altogether
            // (BackendRequestTransform passes on a client's sampled trace context itself).
            handler.ActivityHeadersPropagator = null;
        }
        if (_clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [_clientCertificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCertificate;
        }
        handler.SslOptions.RemoteCertificateValidationCallback = ValidateBackendCertificate;
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler)
        => new BackendCircuitHandler(_options.Health, _clock, _metrics) { InnerHandler = base.WrapHandler(context, handler) };

    private bool ValidateBackendCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }
        if (_options.TrustedServerCertificateThumbprints.Count > 0)
        {
            using var cert = new X509Certificate2(certificate);
            var thumbprint = cert.GetCertHashString(HashAlgorithmName.SHA256);
            if (_options.TrustedServerCertificateThumbprints.Contains(thumbprint, StringComparer.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        if (_trustedCas.Count > 0)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_trustedCas);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var cert = new X509Certificate2(certificate);
            return custom.Build(cert) && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        }
        return _options.TrustedServerCertificateThumbprints.Count == 0 && errors == SslPolicyErrors.None;
    }
}
