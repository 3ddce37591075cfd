using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

// Bare YARP baseline for bench/run.sh: terminates TLS and forwards every request to one backend.
// Usage: BareYarp --port 8443 --cert cert.pem --key key.pem --backend http://127.0.0.1:9001/ [--listen 127.0.0.1]
var port = int.Parse(Required("--port"), CultureInfo.InvariantCulture);
var certPath = Required("--cert");
var keyPath = Required("--key");
var backend = Required("--backend");
var listen = IPAddress.Parse(ArgValue("--listen") ?? "127.0.0.1");

// Kestrel wants a certificate whose private key it can use on every platform: round-trip through PKCS#12.
using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.Limits.MaxConcurrentConnections = null;
    kestrel.Limits.MaxConcurrentUpgradedConnections = null;
    kestrel.Listen(listen, port, options =>
    {
        options.Protocols = HttpProtocols.Http1AndHttp2;
        options.UseHttps(certificate);
    });
});

var routes = new[]
{
    new RouteConfig { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "{**catch-all}" } },
};
var clusters = new[]
{
    new ClusterConfig
    {
        ClusterId = "backend",
        Destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
        {
            ["backend"] = new DestinationConfig { Address = backend },
        },
        // HTTP/1.1 with keep-alive to the backend, as nginx and HAProxy are configured in the same benchmark.
        HttpRequest = new ForwarderRequestConfig
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            ActivityTimeout = TimeSpan.FromSeconds(100),
        },
        HttpClient = new HttpClientConfig
        {
            MaxConnectionsPerServer = null,
            EnableMultipleHttp2Connections = true,
        },
    },
};
builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);

var app = builder.Build();
app.MapReverseProxy();
await app.StartAsync();
Console.Out.WriteLine("bare-yarp listening on https://" + listen + ":" + port.ToString(CultureInfo.InvariantCulture) + "/ -> " + backend);
await app.WaitForShutdownAsync();

string? ArgValue(string flag)
{
    var index = Array.IndexOf(args, flag);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

string Required(string flag) =>
    ArgValue(flag) ?? throw new ArgumentException("missing " + flag + " (usage: --port P --cert PEM --key PEM --backend URL)");
