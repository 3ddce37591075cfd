using System.Net;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Configuration;
using CasGateway.Listeners;
using CasGateway.TestSupport;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace CasGateway.EndToEnd.Scale;

/// <summary>
/// Issue 22: nodes that share the Data Protection key ring (in Redis or a shared folder) read each other's backend
/// cookies, so a balancer may switch nodes without a locator call; the keys are encrypted at rest with a certificate.
/// </summary>
public sealed class KeyRingTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private RedisServer _redis = null!;
    private string _certificate = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _redis = await RedisServer.StartAsync();
        _certificate = Path.Combine(_topology.Folder, "keyring.pfx");
        File.WriteAllBytes(_certificate, CertificateFiles.CreateSelfSigned("casgateway-keyring", ["keyring"]).Export(X509ContentType.Pkcs12));
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _topology.DisposeAsync();
    }

    private Task<TestGateway> StartNodeAsync(Dictionary<string, string?> keyRing, Action<Func<CountingLocator>> locator)
    {
        var settings = new Dictionary<string, string?>(keyRing)
        {
            ["Gateway:Locator:Cache:TimeToLive"] = "00:00:00",
            ["Gateway:Health:RefreshInterval"] = "00:10:00",
            ["Gateway:KeyRing:Certificate:Path"] = _certificate,
            // Each node its own data folder: only the key ring is shared.
            ["Gateway:DataPath"] = Path.Combine(_topology.Folder, "node-" + Guid.NewGuid().ToString("N")[..8]),
        };
        return TestGateway.StartAsync(_topology, settings, services => locator(CountingLocator.Install(services)));
    }

    public static TheoryData<string> Kinds => new() { "Redis", "Directory" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_cookie_from_node_A_skips_the_locator_on_node_B(string kind)
    {
        var keyRing = kind == "Redis"
            ? new Dictionary<string, string?> { ["Gateway:KeyRing:Kind"] = "Redis", ["Gateway:Redis:Configuration"] = _redis.Configuration, ["Gateway:Redis:KeyPrefix"] = "t" + Guid.NewGuid().ToString("N")[..6] + ":" }
            : new Dictionary<string, string?> { ["Gateway:KeyRing:Kind"] = "Directory", ["Gateway:KeyRing:Path"] = Path.Combine(_topology.Folder, "shared-" + Guid.NewGuid().ToString("N")[..6]) };
        Func<CountingLocator> locatorA = null!, locatorB = null!;
        await using var nodeA = await StartNodeAsync(keyRing, l => locatorA = l);
        await using var nodeB = await StartNodeAsync(keyRing, l => locatorB = l);
        using var clientA = nodeA.CreateClient();
        using var clientB = nodeB.CreateClient();

        var (serverA, cookie) = await SendAsync(clientA, null);
        Assert.Equal("mbx1.contoso.com", serverA);
        Assert.NotNull(cookie);
        var callsB = locatorB().Calls;
        for (var i = 0; i < 20; i++)
        {
            var (serverB, _) = await SendAsync(clientB, cookie);
            Assert.Equal("mbx1.contoso.com", serverB);
        }
        Assert.Equal(callsB, locatorB().Calls);
        Assert.True(locatorA().Calls >= 1);

        // At rest the keys are encrypted with the certificate: no plaintext master key leaves the node.
        var stored = kind == "Redis" ? await RedisKeyRingAsync(keyRing["Gateway:Redis:KeyPrefix"]!) : DirectoryKeyRing(keyRing["Gateway:KeyRing:Path"]!);
        Assert.NotEmpty(stored);
        Assert.All(stored, xml =>
        {
            Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Nodes_with_separate_local_key_rings_do_not_read_each_others_cookies()
    {
        Func<CountingLocator> locatorB = null!;
        await using var nodeA = await StartNodeAsync([], _ => { });
        await using var nodeB = await StartNodeAsync([], l => locatorB = l);
        using var clientA = nodeA.CreateClient();
        using var clientB = nodeB.CreateClient();
        var (_, cookie) = await SendAsync(clientA, null);
        var callsB = locatorB().Calls;
        var (server, _) = await SendAsync(clientB, cookie);
        Assert.Equal("mbx1.contoso.com", server);
        Assert.Equal(callsB + 1, locatorB().Calls);
    }

    [Fact]
    public void A_shared_key_ring_without_what_it_needs_is_refused_naming_each_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Demo:Enabled"] = "true",
            ["Gateway:KeyRing:Kind"] = "Redis",
        }).Build();
        var problems = GatewayConfiguration.Check(configuration);
        Assert.Contains(problems, p => p.StartsWith("Gateway:Redis:Configuration", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Gateway:KeyRing:Certificate", StringComparison.Ordinal));

        var directory = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Demo:Enabled"] = "true",
            ["Gateway:KeyRing:Kind"] = "Directory",
            ["Gateway:KeyRing:Certificate:Path"] = _certificate,
        }).Build();
        Assert.Contains(GatewayConfiguration.Check(directory), p => p.StartsWith("Gateway:KeyRing:Path", StringComparison.Ordinal));
    }

    private async Task<List<string>> RedisKeyRingAsync(string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var values = await connection.GetDatabase().ListRangeAsync(prefix + "data-protection-keys");
        return [.. values.Select(v => v.ToString())];
    }

    private static List<string> DirectoryKeyRing(string folder) => [.. Directory.GetFiles(folder, "*.xml").Select(File.ReadAllText)];

    private async Task<(string Server, string? Cookie)> SendAsync(HttpClient client, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.ReadAnswerAsync();
        var set = response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Select(v => v.Split(';')[0]).FirstOrDefault(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal))
            : null;
        return (answer.Server, set ?? cookie);
    }
}
