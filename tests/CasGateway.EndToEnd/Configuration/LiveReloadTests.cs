using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using CasGateway.Listeners;
using CasGateway.Observability;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serilog.Core;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Configuration;

/// <summary>Issue 11: admins edit appsettings and certificates while the gateway serves; nothing is dropped.</summary>
[Collection(Health.LoadSensitive.Name)]
public sealed class LiveReloadTests(ITestOutputHelper output)
{
    /// <summary>
    /// Each invalid edit must be logged as rejected, naming the bad key, and leave the last good values in force: the
    /// options the stages read still hold them. Without the reload guard the bad scrape network reaches
    /// <c>IOptionsMonitor</c> (whose validator then throws) and the bad route reaches YARP, so this test fails.
    /// </summary>
    [Fact]
    public async Task Twenty_alternating_valid_and_invalid_edits_under_load_cost_no_request_and_the_valid_ones_apply()
    {
        await using var topology = await TestTopology.StartAsync();
        var file = GatewaySettingsFile.Create(Path.Combine(topology.Folder, "content"), topology.GatewaySettings());
        var logs = new CapturingLogSink();
        await using var gateway = await TestGateway.StartAsync(file, topology.GatewayCertificate, services => services.AddSingleton<ILogEventSink>(logs));
        var telemetry = gateway.GetRequiredService<IOptionsMonitor<TelemetryOptions>>();
        using var client = gateway.CreateClient();
        var alice = topology.Directory.Mailbox("alice@contoso.com");

        using var stop = new CancellationTokenSource();
        var outcomes = new ConcurrentDictionary<string, int>();
        var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
                request.Headers.Authorization = TestGateway.Basic(alice);
                string outcome;
                try
                {
                    using var response = await client.SendAsync(request);
                    outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (HttpRequestException ex)
                {
                    outcome = ex.GetType().Name;
                }
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        })).ToList();

        (Action<JsonObject> Edit, string Problem)[] invalid =
        [
            (s => s["Gateway"]!["Backend"]!["MaxConnectionsPerServer"] = 0, "Gateway:Backend:MaxConnectionsPerServer = \"0\""),
            (s => s["ReverseProxy"]!["Routes"]!["owa"]!["Metadata"]!["Family"] = "Nope", "ReverseProxy:Routes:owa:Metadata:Family = \"Nope\""),
            (s => s["Gateway"]!["Listners"] = new JsonObject { ["HttpsPort"] = 1 }, "Gateway:Listners: unknown setting"),
            (s => s["Gateway"]!["Backend"]!["ConnectTimeout"] = "soon", "Gateway:Backend:ConnectTimeout = \"soon\""),
            (s => s["Gateway"]!["Telemetry"]!["ScrapeAllowedNetworks"] = new JsonArray("10.0.0.0/33"), "Gateway:Telemetry:ScrapeAllowedNetworks:0 = \"10.0.0.0/33\""),
        ];
        var routePresent = false;
        for (var edit = 0; edit < 20; edit++)
        {
            if (edit % 2 == 0)
            {
                routePresent = !routePresent;
                var present = routePresent;
                file.Edit(s =>
                {
                    var routes = s["ReverseProxy"]!["Routes"]!.AsObject();
                    if (present)
                    {
                        routes["owa2"] = new JsonObject { ["Match"] = new JsonObject { ["Path"] = "/owa2/{**rest}" }, ["Metadata"] = new JsonObject { ["Family"] = "Owa" } };
                    }
                    else
                    {
                        routes.Remove("owa2");
                    }
                });
                var expected = present ? HttpStatusCode.OK : HttpStatusCode.NotFound;
                var seen = await RequestPath.RequestPathTests.PollAsync(() => StatusAsync(client, alice, "/owa2/"), s => s == expected, TimeSpan.FromSeconds(10));
                Assert.True(expected == seen, $"valid edit {edit} did not take effect: /owa2/ answers {(int)seen}");
            }
            else
            {
                var rejectedBefore = Rejections(logs).Count;
                var (change, problem) = edit == 5 ? (null, "") : invalid[edit / 2 % invalid.Length];
                if (change is null)
                {
                    file.WriteRaw("{ \"Gateway\": { \"Listeners\": ");
                }
                else
                {
                    file.EditOnce(change);
                }
                var rejections = await RequestPath.RequestPathTests.PollAsync(() => Task.FromResult(Rejections(logs)), r => r.Count > rejectedBefore, TimeSpan.FromSeconds(10));
                Assert.True(rejections.Count > rejectedBefore, $"invalid edit {edit} was not logged as rejected");
                Assert.Contains(problem, rejections[^1], StringComparison.Ordinal);
                Assert.Equal(routePresent ? HttpStatusCode.OK : HttpStatusCode.NotFound, await StatusAsync(client, alice, "/owa2/"));
                Assert.Empty(telemetry.CurrentValue.ScrapeAllowedNetworks);
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(load);

        output.WriteLine("steady load outcomes: " + string.Join(", ", outcomes.Select(o => $"{o.Key}×{o.Value}")));
        Assert.True(outcomes.GetValueOrDefault("200") > 100, "the load did not run");
        Assert.Equal(outcomes.Values.Sum(), outcomes.GetValueOrDefault("200"));
    }

    [Fact]
    public async Task Certificate_files_swapped_under_load_switch_new_handshakes_without_failures()
    {
        await using var topology = await TestTopology.StartAsync();
        using var first = CertificateFiles.CreateSelfSigned("localhost", ["localhost"]);
        using var second = CertificateFiles.CreateSelfSigned("localhost", ["localhost"]);
        var certPath = Path.Combine(topology.Folder, "tls.pem");
        var keyPath = Path.Combine(topology.Folder, "tls.key");
        WritePem(first, certPath, keyPath);
        var settings = topology.GatewaySettings();
        settings["Gateway:Listeners:Certificates:0:Path"] = certPath;
        settings["Gateway:Listeners:Certificates:0:KeyPath"] = keyPath;
        await using var gateway = await TestGateway.StartAsync(settings, first);
        var alice = topology.Directory.Mailbox("alice@contoso.com");
        Assert.Equal(Thumbprint(first), await PresentedAsync(gateway.BaseAddress, "localhost"));

        using var stop = new CancellationTokenSource();
        var outcomes = new ConcurrentDictionary<string, int>();
        var load = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // A new client each time: every request makes a new TLS handshake.
                using var client = gateway.CreateClient(alsoTrusted: second);
                using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
                request.Headers.Authorization = TestGateway.Basic(alice);
                string outcome;
                try
                {
                    using var response = await client.SendAsync(request);
                    outcome = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (HttpRequestException ex)
                {
                    outcome = ex.GetType().Name + ": " + ex.Message;
                }
                outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var swapped = Stopwatch.StartNew();
        WritePem(second, certPath, keyPath);
        var presented = await RequestPath.RequestPathTests.PollAsync(
            () => PresentedAsync(gateway.BaseAddress, "localhost"), t => t == Thumbprint(second), TimeSpan.FromSeconds(10));
        output.WriteLine($"new certificate presented {swapped.ElapsedMilliseconds} ms after the files were replaced");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        output.WriteLine("handshake load outcomes: " + string.Join(", ", outcomes.Select(o => $"{o.Key}×{o.Value}")));
        Assert.Equal(Thumbprint(second), presented);
        Assert.True(outcomes.GetValueOrDefault("200") > 20, "the load did not run");
        Assert.Equal(outcomes.Values.Sum(), outcomes.GetValueOrDefault("200"));
    }

    [Fact]
    public async Task Sni_picks_the_certificate_of_each_host_name()
    {
        await using var topology = await TestTopology.StartAsync();
        using var mail = CertificateFiles.CreateSelfSigned("mail.contoso.com", ["mail.contoso.com"]);
        using var autodiscover = CertificateFiles.CreateSelfSigned("autodiscover.contoso.com", ["autodiscover.contoso.com"]);
        using var wildcard = CertificateFiles.CreateSelfSigned("*.fabrikam.com", ["*.fabrikam.com"]);
        var settings = topology.GatewaySettings();
        var index = 1;
        foreach (var (certificate, host) in new[] { (mail, "mail.contoso.com"), (autodiscover, "autodiscover.contoso.com"), (wildcard, "*.fabrikam.com") })
        {
            var path = Path.Combine(topology.Folder, $"sni{index}.pfx");
            File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12));
            settings[$"Gateway:Listeners:Certificates:{index}:Path"] = path;
            settings[$"Gateway:Listeners:Certificates:{index}:HostNames:0"] = host;
            index++;
        }
        await using var gateway = await TestGateway.StartAsync(settings, topology.GatewayCertificate);

        Assert.Equal(Thumbprint(mail), await PresentedAsync(gateway.BaseAddress, "mail.contoso.com"));
        Assert.Equal(Thumbprint(autodiscover), await PresentedAsync(gateway.BaseAddress, "AUTODISCOVER.contoso.com"));
        Assert.Equal(Thumbprint(wildcard), await PresentedAsync(gateway.BaseAddress, "mail.fabrikam.com"));
        Assert.Equal(Thumbprint(topology.GatewayCertificate), await PresentedAsync(gateway.BaseAddress, "other.example.net"));
    }

    [Fact]
    public async Task An_invalid_configuration_stops_the_process_with_exit_code_2_naming_every_problem()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "CasGateway.dll"),
                "--contentRoot", AppContext.BaseDirectory,
                "--Gateway:Backend:MaxConnectionsPerServer=0",
                "--Gateway:Listners:HttpsPort=1",
                "--Gateway:Backend:Identity:SigningKey=not-a-real-secret",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        Assert.Equal(2, process.ExitCode);
        // The shipped appsettings.json is production-safe: outside the demo it also names the directory file and
        // the identity key an operator must provide, and the HMAC key set without the legacy algorithm.
        Assert.Contains("Configuration has 5 problem(s):", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Locator:File:Path", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Backend:Identity:PrivateKeyPath: required", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Backend:Identity:SigningKey = \"***\": only used with", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Backend:MaxConnectionsPerServer = \"0\": must be between 1 and 10000.", error, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listners: unknown setting; did you mean 'Listeners'?", error, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-real-secret", error, StringComparison.Ordinal);
    }

    private static List<string> Rejections(CapturingLogSink logs)
        => [.. logs.Events.Where(e => e.MessageTemplate.Text.StartsWith("Edit of {File} rejected", StringComparison.Ordinal)).Select(e => e.Properties["Problems"] is Serilog.Events.ScalarValue { Value: string problems } ? problems : "")];

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, TestMailbox user, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(user);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private static void WritePem(X509Certificate2 certificate, string certPath, string keyPath)
    {
        File.WriteAllText(keyPath + ".tmp", certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath + ".tmp", certificate.ExportCertificatePem());
        File.Move(keyPath + ".tmp", keyPath, overwrite: true);
        File.Move(certPath + ".tmp", certPath, overwrite: true);
    }

    private static string Thumbprint(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    private static async Task<string> PresentedAsync(Uri address, string host)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, address.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(host);
        using var certificate = X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }
}
