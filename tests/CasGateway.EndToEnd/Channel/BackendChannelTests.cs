using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using CasGateway.BackendAuth;
using CasGateway.Listeners;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Channel;

/// <summary>Issue 5: the pooled privileged channel and the identity the backend can trust.</summary>
[Collection(Health.LoadSensitive.Name)]
public sealed class BackendChannelTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_thousand_concurrent_clients_share_a_capped_pool_of_backend_connections()
    {
        await using var topology = await TestTopology.StartAsync();
        // Only the forwarding pool counts here: no background probes (health TCP checks, active backend probes).
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Backend:MaxConnectionsPerServer"] = "16",
            ["Gateway:Backend:Health:ActiveEnabled"] = "false",
            ["Gateway:Health:RefreshInterval"] = "00:10:00",
        });
        using var client = gateway.CreateClient(timeout: TimeSpan.FromMinutes(2));
        var alice = topology.Directory.Mailbox("alice@contoso.com");
        // Open the pool first: 2,000 TLS handshakes in this one process starve the CPU, and backend connects made
        // during that storm would only measure this machine.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var warm = new HttpRequestMessage(HttpMethod.Get, "/owa/?delay=200");
            warm.Headers.Authorization = TestGateway.Basic(alice);
            (await client.SendAsync(warm)).EnsureSuccessStatusCode();
        }));

        const int clients = 2000;
        var started = DateTime.UtcNow;
        var statuses = await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/?delay=50");
            request.Headers.Authorization = TestGateway.Basic(alice);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }));
        var backend = topology.Backend("mbx1.contoso.com");
        output.WriteLine($"{clients} concurrent client requests in {DateTime.UtcNow - started}: backend peak {backend.PeakConnections} connections, {backend.AcceptedConnections} accepted");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(backend.PeakConnections <= 16, $"backend saw {backend.PeakConnections} connections at once");
        Assert.True(backend.AcceptedConnections <= 16 + 1, $"backend accepted {backend.AcceptedConnections} connections");
    }

    [Fact]
    public async Task Http2_to_backends_multiplexes_requests()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Backend:UseHttp2"] = "true",
            ["Gateway:Backend:MaxConnectionsPerServer"] = "4",
        });
        using var client = gateway.CreateClient();
        var bob = topology.Directory.Mailbox("bob@contoso.com");
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/?delay=50");
            request.Headers.Authorization = TestGateway.Basic(bob);
            return await (await client.SendAsync(request)).ReadAnswerAsync();
        }));
        Assert.All(answers, a => Assert.Equal("HTTP/2", a.Protocol));
        Assert.True(topology.Backend("mbx2.contoso.com").PeakConnections <= 4);
    }

    [Fact]
    public async Task A_request_replayed_to_the_backend_without_the_gateways_client_certificate_is_refused()
    {
        await using var topology = await TestTopology.StartAsync();
        var backend = topology.Backend("mbx1.contoso.com");
        var identity = topology.IdentitySigner.Sign(new GatewayIdentity("alice@contoso.com", "alice@contoso.com", Guid.NewGuid(), "Basic", "127.0.0.1",
            "cas-test", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5), Audience: "mbx1.contoso.com"));

        // No client certificate: the backend's TLS layer drops the connection. Kestrel checks the required certificate
        // once OpenSSL has finished the handshake, so the client sees the connection end before any HTTP answer (the
        // same request with the gateway's certificate is answered 200 below).
        using (var bare = BackendClient(topology, clientCertificate: null))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(backend.BaseAddress, "/owa/"));
            request.Headers.Add(GatewayHeaders.Identity, identity);
            var refused = await Record.ExceptionAsync(() => bare.SendAsync(request));
            // No HTTP answer at all (not a 4xx/5xx): the connection failed in TLS, the backend refusing the certificate-less client.
            var failure = Assert.IsType<HttpRequestException>(refused);
            output.WriteLine($"without a client certificate: {failure.HttpRequestError}: {failure.Message} / {failure.InnerException?.GetType().Name}: {failure.InnerException?.Message}");
            Assert.Null(failure.StatusCode);
            Assert.Equal(HttpRequestError.ResponseEnded, failure.HttpRequestError);
        }

        // Somebody else's client certificate: 403.
        using var stranger = CertificateFiles.CreateSelfSigned("stranger", ["stranger"], clientAuth: true);
        using (var foreign = BackendClient(topology, stranger))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(backend.BaseAddress, "/owa/"));
            request.Headers.Add(GatewayHeaders.Identity, identity);
            using var response = await foreign.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // The gateway's certificate but an expired identity: 403.
        using (var gatewayLike = BackendClient(topology, topology.ClientCertificate))
        {
            var expired = topology.IdentitySigner.Sign(new GatewayIdentity("alice@contoso.com", "alice@contoso.com", Guid.NewGuid(), "Basic", "127.0.0.1",
                "cas-test", DateTimeOffset.UtcNow.AddMinutes(-20), DateTimeOffset.UtcNow.AddMinutes(-10), Audience: "mbx1.contoso.com"));
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(backend.BaseAddress, "/owa/"));
            request.Headers.Add(GatewayHeaders.Identity, expired);
            using var response = await gatewayLike.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("identity expired", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var valid = new HttpRequestMessage(HttpMethod.Get, new Uri(backend.BaseAddress, "/owa/"));
            valid.Headers.Add(GatewayHeaders.Identity, identity);
            Assert.Equal(HttpStatusCode.OK, (await gatewayLike.SendAsync(valid)).StatusCode);
        }
    }

    [Fact]
    public async Task Gateway_refuses_a_backend_whose_certificate_is_not_trusted()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["Gateway:Backend:TrustedServerCertificateThumbprints:0"] = Convert.ToHexString(SHA256.HashData([1, 2, 3])),
        });
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox("alice@contoso.com"));
        using var response = await client.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"got {(int)response.StatusCode}");
        Assert.Equal(0, topology.Backend("mbx1.contoso.com").Requests);
    }

    [Fact]
    public async Task Client_credentials_are_forwarded_only_by_routes_that_opt_in()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology, new Dictionary<string, string?>
        {
            ["ReverseProxy:Routes:ews:Metadata:ForwardClientCredentials"] = "true",
        });
        using var client = gateway.CreateClient();
        var alice = topology.Directory.Mailbox("alice@contoso.com");
        using var ews = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        ews.Headers.Authorization = TestGateway.Basic(alice);
        Assert.Equal(TestGateway.Basic(alice).ToString(), (await (await client.SendAsync(ews)).ReadAnswerAsync()).Authorization);
        using var owa = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        owa.Headers.Authorization = TestGateway.Basic(alice);
        Assert.Equal("", (await (await client.SendAsync(owa)).ReadAnswerAsync()).Authorization);
    }

    private static HttpClient BackendClient(TestTopology topology, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate)
    {
        var expected = topology.BackendCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256) == expected,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }
}
