using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.TestSupport;

/// <summary>The real gateway (real Kestrel, real TLS) started in-process on a free loopback port.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGateway(WebApplication app, Uri baseAddress, X509Certificate2 serverCertificate)
    {
        _app = app;
        BaseAddress = baseAddress;
        ServerCertificate = serverCertificate;
    }

    public Uri BaseAddress { get; }

    public X509Certificate2 ServerCertificate { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<TestGateway> StartAsync(
        TestTopology topology,
        IDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? services = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var settings = topology.GatewaySettings();
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return StartAsync(settings, topology.GatewayCertificate, services, configure);
    }

    public static Task<TestGateway> StartAsync(
        IDictionary<string, string?> settings,
        X509Certificate2 expectedCertificate,
        Action<IServiceCollection>? services = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var args = new List<string> { "--contentRoot", AppContext.BaseDirectory, "--environment", "Production" };
        args.AddRange(settings.Where(kv => kv.Value is not null).Select(kv => $"--{kv.Key}={kv.Value}"));
        return StartWithArgsAsync(args, expectedCertificate, services, configure);
    }

    /// <summary>Starts on a content root whose appsettings.json the test edits while the gateway runs.</summary>
    public static Task<TestGateway> StartAsync(GatewaySettingsFile file, X509Certificate2 expectedCertificate, Action<IServiceCollection>? services = null)
        => StartWithArgsAsync(["--contentRoot", file.Folder, "--environment", "Production"], expectedCertificate, services, null);

    private static async Task<TestGateway> StartWithArgsAsync(
        List<string> args,
        X509Certificate2 expectedCertificate,
        Action<IServiceCollection>? services,
        Action<WebApplicationBuilder>? configure)
    {
        var builder = GatewayApp.CreateBuilder([.. args]);
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, InProcessHostLifetime>();
        services?.Invoke(builder.Services);
        configure?.Invoke(builder);
        var app = GatewayApp.Build(builder);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // Whatever started (listeners, hosted services) stops with the host.
            await app.DisposeAsync();
            throw;
        }
        var address = new Uri(app.Urls.First());
        return new TestGateway(app, address, expectedCertificate);
    }

    /// <summary>An HTTP client that trusts exactly this gateway's certificate (and any extra ones given).</summary>
    public HttpClient CreateClient(TimeSpan? timeout = null, int maxConnections = int.MaxValue, bool http2 = false, params X509Certificate2[] alsoTrusted)
    {
        var trusted = alsoTrusted.Append(ServerCertificate).Select(c => c.GetCertHashString(HashAlgorithmName.SHA256)).ToHashSet();
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            MaxConnectionsPerServer = maxConnections,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && trusted.Contains(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256)),
            },
        };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (http2)
        {
            client.DefaultRequestVersion = System.Net.HttpVersion.Version20;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        return client;
    }

    public static AuthenticationHeaderValue Basic(string user, string password)
        => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));

    public static AuthenticationHeaderValue Basic(TestMailbox mailbox) => Basic(mailbox.Address, mailbox.Password);

    public T GetRequiredService<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
