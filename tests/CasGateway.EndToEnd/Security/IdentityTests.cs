using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.BackendAuth;
using CasGateway.DemoBackend;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// Issue 15 item 5, against real demo mailbox servers over mutual TLS: the identity is an ECDSA token for one server
/// and one mailbox; backends verify it with the public key, refuse other audiences, legacy HMAC tokens and
/// callers without the gateway's client certificate.
/// </summary>
public sealed class IdentityTests(SecurityDeployment deployment) : IClassFixture<SecurityDeployment>
{
    private TestTopology Topology => deployment.Topology;

    [Fact]
    public async Task The_backend_learns_its_audience_and_whether_the_caller_owns_the_mailbox()
    {
        using var client = deployment.Gateway.CreateClient();
        using var own = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        own.Headers.Authorization = TestGateway.Basic(Topology.Directory.Mailbox("alice@contoso.com"));
        var mine = await (await client.SendAsync(own)).ReadAnswerAsync();
        Assert.Equal("mbx1.contoso.com", mine.IdentityAudience);
        Assert.False(mine.IdentityActsOnOtherMailbox);

        using var other = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        other.Headers.Authorization = TestGateway.Basic(Topology.Directory.Mailbox("alice@contoso.com"));
        other.Headers.Add("X-AnchorMailbox", "bob@contoso.com");
        var delegated = await (await client.SendAsync(other)).ReadAnswerAsync();
        Assert.Equal("mbx2.contoso.com", delegated.IdentityAudience);
        Assert.Equal("bob@contoso.com", delegated.Mailbox);
        Assert.Equal("alice@contoso.com", delegated.IdentityUser);
        Assert.True(delegated.IdentityActsOnOtherMailbox);
    }

    [Fact]
    public async Task A_token_signed_for_server_A_is_refused_by_server_B()
    {
        var token = Topology.IdentitySigner.Sign(Identity("mbx1.contoso.com", "alice@contoso.com"));
        using var backend = BackendClient(Topology.ClientCertificate);

        using var toA = await SendAsync(backend, "mbx1.contoso.com", token, "alice@contoso.com");
        Assert.Equal(HttpStatusCode.OK, toA.StatusCode);

        using var toB = await SendAsync(backend, "mbx2.contoso.com", token, "alice@contoso.com");
        Assert.Equal(HttpStatusCode.Forbidden, toB.StatusCode);
        Assert.Contains("identity is for another server", await toB.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unsigned_target_mailbox_that_differs_from_the_signed_one_is_refused()
    {
        var token = Topology.IdentitySigner.Sign(Identity("mbx1.contoso.com", "alice@contoso.com"));
        using var backend = BackendClient(Topology.ClientCertificate);
        using var response = await SendAsync(backend, "mbx1.contoso.com", token, "carol@contoso.com");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("target mailbox does not match", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_hmac_token_is_refused_once_asymmetric_signing_is_on()
    {
        var forged = new HmacGatewayIdentityCodec(RandomNumberGenerator.GetBytes(32), TimeSpan.Zero).Sign(Identity("mbx1.contoso.com", "alice@contoso.com"));
        using var backend = BackendClient(Topology.ClientCertificate);
        using var response = await SendAsync(backend, "mbx1.contoso.com", forged, "alice@contoso.com");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Without_the_gateways_client_certificate_a_backend_refuses_by_default()
    {
        var token = Topology.IdentitySigner.Sign(Identity("mbx1.contoso.com", "alice@contoso.com"));
        using (var bare = BackendClient(null))
        {
            var refused = await Record.ExceptionAsync(async () => (await SendAsync(bare, "mbx1.contoso.com", token, "alice@contoso.com")).EnsureSuccessStatusCode());
            Assert.NotNull(refused);
        }

        // A backend whose allowed-thumbprint list is left empty fails closed: the default requires a certificate.
        var trust = Topology.TrustFor("mbx9.contoso.com");
        Assert.True(trust.RequireClientCertificate);
        await using var misconfigured = await DemoMailboxServer.StartAsync(new DemoMailboxServerOptions
        {
            ServerName = "mbx9.contoso.com",
            Certificate = Topology.BackendCertificate,
            Trust = new GatewayTrustOptions { Codec = trust.Codec, Audience = trust.Audience },
        });
        using var backend = BackendClient(Topology.ClientCertificate);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(misconfigured.BaseAddress, "/owa/"));
        request.Headers.Add(GatewayHeaders.Identity, Topology.IdentitySigner.Sign(Identity("mbx9.contoso.com", "")));
        using var response = await backend.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("gateway client certificate required", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static GatewayIdentity Identity(string audience, string target) => new(
        "alice@contoso.com", "alice@contoso.com", Guid.NewGuid(), "Basic", "127.0.0.1", "cas-test.contoso.com",
        DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5), audience, target);

    private Task<HttpResponseMessage> SendAsync(HttpClient client, string server, string token, string targetMailbox)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Topology.Backend(server).BaseAddress, "/owa/"));
        request.Headers.Add(GatewayHeaders.Identity, token);
        request.Headers.Add(GatewayHeaders.TargetMailbox, targetMailbox);
        return client.SendAsync(request);
    }

    private HttpClient BackendClient(X509Certificate2? clientCertificate)
    {
        var expected = Topology.BackendCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256) == expected,
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }
}
