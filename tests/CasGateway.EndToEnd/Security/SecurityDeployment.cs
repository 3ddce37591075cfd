using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CasGateway.Routing;
using CasGateway.TestSupport;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// One deployment per security test class: two demo mailbox servers, a gateway in front of them whose backend pool
/// holds a single connection per server (so two users' requests share it).
/// </summary>
public sealed class SecurityDeployment : IAsyncLifetime
{
    public TestTopology Topology { get; private set; } = null!;

    public TestGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        Gateway = await TestGateway.StartAsync(Topology, new Dictionary<string, string?>
        {
            ["Gateway:Backend:MaxConnectionsPerServer"] = "1",
            ["Gateway:Health:RefreshInterval"] = "00:00:01",
        });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Topology.DisposeAsync();
    }

    public string BasicOf(string user) => TestGateway.Basic(Topology.Directory.Mailbox(user)).ToString();

    /// <summary>Requests both demo backends served so far (health probes excluded).</summary>
    public int BackendRequests => Topology.Backend("mbx1.contoso.com").Requests + Topology.Backend("mbx2.contoso.com").Requests;

    /// <summary>A plain HTTP/1.1 GET with the given extra header lines, bytes as given.</summary>
    public byte[] Http1Get(string user, byte[] target, params (string Name, byte[] Value)[] headers)
    {
        var request = new List<byte>();
        request.AddRange("GET "u8.ToArray());
        request.AddRange(target);
        request.AddRange(Encoding.ASCII.GetBytes($" HTTP/1.1\r\nHost: localhost:{Gateway.BaseAddress.Port}\r\nAuthorization: {BasicOf(user)}\r\n"));
        foreach (var (name, value) in headers)
        {
            request.AddRange(Encoding.ASCII.GetBytes(name + ": "));
            request.AddRange(value);
            request.AddRange("\r\n"u8.ToArray());
        }
        request.AddRange("\r\n"u8.ToArray());
        return [.. request];
    }

    /// <summary>No mailbox server is marked down by passive or active health, and /readyz (from loopback) says so.</summary>
    public async Task AssertNoBackendMarkedUnhealthyAsync()
    {
        var proxy = Gateway.GetRequiredService<IProxyStateLookup>();
        Assert.True(proxy.TryGetCluster(RouteMetadata.MailboxCluster, out var cluster));
        foreach (var destination in cluster!.Destinations.Values)
        {
            Assert.NotEqual(DestinationHealth.Unhealthy, destination.Health.Passive);
            Assert.NotEqual(DestinationHealth.Unhealthy, destination.Health.Active);
        }
        using var client = Gateway.CreateClient();
        using var ready = await client.GetAsync("/readyz");
        var body = await ready.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Ready", body.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("dependencies").GetProperty("status").GetString());
    }
}
