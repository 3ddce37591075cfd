using System.Security.Cryptography;
using CasGateway.Location;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>Issue 2: start-up with a bad directory, and the self-signed certificate of the embedded default.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Malformed_directory_at_start_refuses_to_start_naming_file_and_position()
    {
        await using var topology = await TestTopology.StartAsync();
        topology.Directory.SaveText("{\n  \"sites\": [ { \"name\": \"Site1\" } ],\n  \"servers\": [ { \"fqdn\": \"mbx1\", } \n  \"databases\": []\n}");
        var error = await Assert.ThrowsAsync<DirectoryLoadException>(() => TestGateway.StartAsync(topology));
        Assert.Contains(topology.Directory.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inconsistent_directory_at_start_names_every_problem()
    {
        await using var topology = await TestTopology.StartAsync();
        topology.Directory.AddMailbox("dave@contoso.com", "DB99");
        topology.Directory.AddMailbox("not-an-address", "DB01");
        topology.Directory.Save();
        var error = await Assert.ThrowsAsync<DirectoryLoadException>(() => TestGateway.StartAsync(topology));
        Assert.Contains("$.mailboxes[3].database: 'DB99' is not one of the databases", error.Message, StringComparison.Ordinal);
        Assert.Contains("$.mailboxes[4].primarySmtpAddress: 'not-an-address' is not an SMTP address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_configured_certificate_a_self_signed_one_is_generated_once_and_reused()
    {
        await using var topology = await TestTopology.StartAsync();
        var settings = topology.GatewaySettings();
        settings.Remove("Gateway:Listeners:Certificates:0:Path");
        var generated = Path.Combine(topology.Folder, "data", "tls", "localhost.pfx");
        Assert.False(File.Exists(generated));

        string first;
        await using (var gateway = await TestGateway.StartAsync(settings, topology.GatewayCertificate))
        {
            first = await PresentedThumbprintAsync(gateway.BaseAddress);
        }
        Assert.True(File.Exists(generated));
        await using (var gateway = await TestGateway.StartAsync(settings, topology.GatewayCertificate))
        {
            Assert.Equal(first, await PresentedThumbprintAsync(gateway.BaseAddress));
        }
        using var onDisk = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(generated, null);
        Assert.Equal(onDisk.GetCertHashString(HashAlgorithmName.SHA256), first);
        Assert.Contains("CN=localhost", onDisk.Subject, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(System.Security.Authentication.SslProtocols.Tls12)]
    [InlineData(System.Security.Authentication.SslProtocols.Tls13)]
    public async Task Tls_12_and_13_are_accepted(System.Security.Authentication.SslProtocols protocol)
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology);
        Assert.Equal(protocol, await TlsProbe.HandshakeAsync(gateway.BaseAddress, protocol));
    }

    /// <summary>
    /// The client really offers the old version (OpenSSL at security level 0, where Debian's default would refuse it
    /// before sending anything) and the gateway answers with the protocol_version alert (70): the server refused.
    /// </summary>
    [Theory]
    [InlineData("-tls1")]
    [InlineData("-tls1_1")]
    public async Task Tls_10_and_11_are_refused_by_the_gateway(string version)
    {
        await using var topology = await TestTopology.StartAsync();
        await using var gateway = await TestGateway.StartAsync(topology);
        var transcript = await TlsProbe.OpenSslHandshakeAsync(gateway.BaseAddress, version);
        Assert.DoesNotContain("no protocols available", transcript, StringComparison.Ordinal);
        Assert.Matches(@"handshake has read \d+ bytes and written [1-9]\d* bytes", transcript);
        Assert.Contains("alert protocol version", transcript, StringComparison.Ordinal);
        Assert.Contains("SSL alert number 70", transcript, StringComparison.Ordinal);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12, await TlsProbe.HandshakeAsync(gateway.BaseAddress, System.Security.Authentication.SslProtocols.Tls12));
    }

    private static async Task<string> PresentedThumbprintAsync(Uri address)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("localhost");
        using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }
}
