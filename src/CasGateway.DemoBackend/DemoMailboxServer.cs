using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.BackendAuth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CasGateway.DemoBackend;

/// <summary>How a demo mailbox server is started.</summary>
public sealed class DemoMailboxServerOptions
{
    /// <summary>The server's FQDN as the directory names it; echoed in every answer.</summary>
    public required string ServerName { get; init; }

    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>TLS certificate; null serves plain HTTP.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>How the gateway's identity is checked; null accepts requests without one (benchmark baseline only).</summary>
    public GatewayTrustOptions? Trust { get; init; }

    /// <summary>
    /// Answers whether the request's mailbox database is mounted here; when it returns a value, the server
    /// refuses with <c>X-DBMountedOnServer</c> naming where it is mounted, as an Exchange backend does.
    /// </summary>
    public Func<string, string?>? MountedElsewhere { get; init; }
}

/// <summary>
/// A mailbox server for the demo and the tests: answers with which server it is, which mailbox was asked for and
/// which identity reached it; echoes upload hashes and streams downloads of any size without buffering.
/// </summary>
public sealed class DemoMailboxServer : IAsyncDisposable
{
    /// <summary>Header the gateway sets to the resolved target mailbox's primary SMTP address (also signed in the identity).</summary>
    public const string TargetMailboxHeader = GatewayHeaders.TargetMailbox;

    private readonly WebApplication _app;
    private readonly ConnectionCounter _connections;

    private DemoMailboxServer(WebApplication app, ConnectionCounter connections, Uri baseAddress, string name)
    {
        _app = app;
        _connections = connections;
        BaseAddress = baseAddress;
        ServerName = name;
    }

    public Uri BaseAddress { get; }

    public string ServerName { get; }

    /// <summary>Client connections open right now (the backend's own connection tracking).</summary>
    public int OpenConnections => _connections.Open;

    /// <summary>Highest number of simultaneously open connections since start.</summary>
    public int PeakConnections => _connections.Peak;

    /// <summary>Connections accepted since start.</summary>
    public int AcceptedConnections => _connections.Accepted;

    /// <summary>Requests served since start, health probes excepted.</summary>
    public int Requests => _connections.Requests;

    /// <summary>Health probes answered since start.</summary>
    public int HealthProbes => _connections.Probes;

    public static async Task<DemoMailboxServer> StartAsync(DemoMailboxServerOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var counter = new ConnectionCounter();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.Use(next => async connection =>
                {
                    counter.Opened();
                    try
                    {
                        await next(connection);
                    }
                    finally
                    {
                        counter.Closed();
                    }
                });
                if (options.Certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = options.Certificate,
                        ClientCertificateMode = options.Trust?.RequireClientCertificate == true
                            ? ClientCertificateMode.RequireCertificate
                            : ClientCertificateMode.NoCertificate,
                        // The gateway's client certificate is checked by thumbprint in GatewayIdentityMiddleware.
                        ClientCertificateValidation = (_, _, _) => true,
                    });
                }
            });
        });
        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Path.Equals("/healthcheck.htm", StringComparison.OrdinalIgnoreCase))
            {
                counter.Probe();
            }
            else
            {
                counter.Request();
            }
            return next(context);
        });
        if (options.Trust is not null)
        {
            app.UseGatewayIdentity(options.Trust);
        }
        app.UseWebSockets();
        app.Run(context => DemoMailboxEndpoint.HandleAsync(context, options));
        await app.StartAsync(cancellationToken);
        var address = app.Urls.Select(u => new Uri(u)).First();
        return new DemoMailboxServer(app, counter, address, options.ServerName);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

    private sealed class ConnectionCounter
    {
        private int _open;
        private int _peak;
        private int _accepted;
        private int _requests;
        private int _probes;

        public int Open => Volatile.Read(ref _open);

        public int Peak => Volatile.Read(ref _peak);

        public int Accepted => Volatile.Read(ref _accepted);

        public int Requests => Volatile.Read(ref _requests);

        public int Probes => Volatile.Read(ref _probes);

        public void Opened()
        {
            Interlocked.Increment(ref _accepted);
            var open = Interlocked.Increment(ref _open);
            int peak;
            while (open > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, open, peak) != peak)
            {
            }
        }

        public void Closed() => Interlocked.Decrement(ref _open);

        public void Request() => Interlocked.Increment(ref _requests);

        public void Probe() => Interlocked.Increment(ref _probes);
    }
}
