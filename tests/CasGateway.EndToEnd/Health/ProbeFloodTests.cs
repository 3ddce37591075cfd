using System.Diagnostics;
using System.Net;
using CasGateway.Health;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Health;

/// <summary>Issue 6: probes are answered from memory; a flood of them reaches neither the locator nor a backend.</summary>
[Collection(LoadSensitive.Name)]
public sealed class ProbeFloodTests(ITestOutputHelper output)
{
    private const int Probes = 10_000;
    private const int Concurrency = 16;

    [Fact]
    public async Task Ten_thousand_probes_make_no_locator_or_backend_call()
    {
        await using var topology = await TestTopology.StartAsync();
        var settings = HealthTestKit.Settings();
        // The dependency checks run on the health check publisher's clock; a long interval keeps the locator check out of the counted window.
        settings["Gateway:Health:RefreshInterval"] = "00:10:00";
        Func<CountingLocator> installed = null!;
        await using var gateway = await TestGateway.StartAsync(topology, settings, services => installed = CountingLocator.Install(services));
        using var client = gateway.CreateClient(maxConnections: Concurrency);
        var locator = installed();
        Assert.True(gateway.GetRequiredService<DependencyHealth>().IsHealthy);
        var backends = new[] { topology.Backend("mbx1.contoso.com"), topology.Backend("mbx2.contoso.com") };
        var locatorCalls = locator.Calls;
        var backendRequests = backends.Sum(b => b.Requests);
        var backendConnections = backends.Sum(b => b.AcceptedConnections);
        var paths = HealthEndpoints.VirtualDirectories.Select(v => $"/{v.VirtualDirectory}/healthcheck.htm").ToArray();

        var good = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(loop => Task.Run(async () =>
        {
            for (var i = loop; i < Probes; i += Concurrency)
            {
                using var response = await client.GetAsync(paths[i % paths.Length]);
                if (response.StatusCode == HttpStatusCode.OK && await response.Content.ReadAsStringAsync() == "200 OK<br/>cas-test.contoso.com")
                {
                    Interlocked.Increment(ref good);
                }
            }
        })));
        clock.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;

        Assert.Equal(Probes, good);
        Assert.Equal(locatorCalls, locator.Calls);
        Assert.Equal(backendRequests, backends.Sum(b => b.Requests));
        Assert.Equal(backendConnections, backends.Sum(b => b.AcceptedConnections));
        output.WriteLine($"{Probes} probes over {Concurrency} TLS keep-alive connections in {clock.ElapsedMilliseconds} ms " +
            $"({Probes / clock.Elapsed.TotalSeconds:0}/s), {cpu.TotalMilliseconds:0} ms CPU for client and gateway together " +
            $"({cpu.TotalMicroseconds / Probes:0} µs a probe); locator calls {locator.Calls - locatorCalls}, backend requests 0, backend connections 0");
    }
}
