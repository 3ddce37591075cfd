using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Anchoring;
using CasGateway.Listeners;
using CasGateway.Location;
using CasGateway.Sip;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// A gateway whose TLS peers must present a listed client certificate, and whose directory store is down: calls get
/// 503 with Retry-After while keep-alives are still answered.
/// </summary>
public sealed class SipStrictPeerFixture : IAsyncLifetime
{
    public TestTopology Topology { get; private set; } = null!;

    public TestGateway Gateway { get; private set; } = null!;

    public X509Certificate2 PeerCertificate { get; } = CertificateFiles.CreateSelfSigned("pbx.contoso.com", ["pbx.contoso.com"], clientAuth: true);

    public X509Certificate2 StrangerCertificate { get; } = CertificateFiles.CreateSelfSigned("stranger", ["stranger"], clientAuth: true);

    public async Task InitializeAsync()
    {
        Topology = await TestTopology.StartAsync();
        Gateway = await TestGateway.StartAsync(Topology, new Dictionary<string, string?>
        {
            ["Gateway:Sip:TlsPort"] = "0",
            ["Gateway:Sip:UdpPort"] = "0",
            ["Gateway:Sip:Peers:0"] = "127.0.0.0/8",
            ["Gateway:Sip:PeerCertificateThumbprints:0"] = PeerCertificate.GetCertHashString(HashAlgorithmName.SHA256),
            ["Gateway:Sip:RetryAfterSeconds"] = "7",
        }, services =>
        {
            services.AddSingleton<UnavailableStore>();
            services.AddKeyedSingleton<IMailboxLocator>(LocationStage.StoreKey, (sp, _) => sp.GetRequiredService<UnavailableStore>());
            services.AddSingleton<IVoiceDirectory>(sp => sp.GetRequiredService<UnavailableStore>());
        });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Topology.DisposeAsync();
        PeerCertificate.Dispose();
        StrangerCertificate.Dispose();
    }

    private sealed class UnavailableStore : IMailboxLocator, IVoiceDirectory
    {
        public IReadOnlyList<MailboxServer> Servers => [];

        public event Action? Changed
        {
            add { }
            remove { }
        }

        public ValueTask<MailboxLocation?> LocateAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
            => throw new LocatorUnavailableException("the test's store is down");

        public ValueTask<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
            => throw new LocatorUnavailableException("the test's store is down");
    }
}

public sealed class SipStrictPeerTests(SipStrictPeerFixture fixture) : IClassFixture<SipStrictPeerFixture>
{
    private IPEndPoint Tls => fixture.Gateway.GetRequiredService<SipListeners>().Tls!;

    [Fact]
    public async Task A_tls_peer_with_a_listed_certificate_is_served_and_calls_get_503_while_the_directory_is_down()
    {
        await using var connection = await RawSip.ConnectAsync(Tls, fixture.Topology.GatewayCertificate, fixture.PeerCertificate);
        await connection.SendAsync(RawSip.Request("OPTIONS", "sip:127.0.0.1", "TLS"));
        Assert.StartsWith("SIP/2.0 200 OK\r\n", await connection.ReadResponseAsync());
        await connection.SendAsync(RawSip.Request("INVITE", "sip:4501@127.0.0.1", "TLS"));
        var answer = await connection.ReadResponseAsync();
        Assert.StartsWith("SIP/2.0 503 Service Unavailable\r\n", answer);
        Assert.Contains("Retry-After: 7\r\n", answer);
    }

    [Fact]
    public async Task Udp_calls_get_503_with_retry_after_while_the_directory_is_down()
    {
        var answer = await RawSip.UdpAsync(fixture.Gateway.GetRequiredService<SipListeners>().Udp!, RawSip.Request("INVITE", "sip:4501@127.0.0.1", "UDP"),
            TimeSpan.FromSeconds(5));
        Assert.StartsWith("SIP/2.0 503 Service Unavailable\r\n", answer);
        Assert.Contains("Retry-After: 7\r\n", answer);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_tls_peer_with_another_certificate_or_none_is_refused(bool withCertificate)
    {
        await using var connection = await RawSip.ConnectAsync(Tls, fixture.Topology.GatewayCertificate, withCertificate ? fixture.StrangerCertificate : null);
        await connection.SendAsync(RawSip.Request("OPTIONS", "sip:127.0.0.1", "TLS"));
        Assert.StartsWith("SIP/2.0 403 Forbidden\r\n", await connection.ReadResponseAsync());
    }
}
