using System.Text.RegularExpressions;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.RequestPath;

/// <summary>
/// Issue 23: a client that reconnects resumes its TLS session instead of a full handshake (TLS 1.2 with the session
/// id or ticket, TLS 1.3 with the ticket the gateway sends after the handshake), shown with <c>openssl s_client</c>.
/// </summary>
public sealed class TlsResumptionTests : IAsyncLifetime
{
    private const string Request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    private readonly string _folder = Directory.CreateTempSubdirectory("casgw-tls-resume-").FullName;
    private TestTopology _topology = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _gateway = await TestGateway.StartAsync(_topology);
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_gateway, _topology);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_tls12_client_reconnecting_resumes_its_session()
    {
        // -reconnect: one full handshake, then five reconnections offering the session it got.
        var transcript = await OpenSslAsync(null, "-tls1_2", "-reconnect");
        Assert.Single(Regex.Matches(transcript, "^New, TLSv1.2", RegexOptions.Multiline));
        Assert.Equal(5, Regex.Matches(transcript, "^Reused, TLSv1.2", RegexOptions.Multiline).Count);
    }

    [Fact]
    public async Task A_tls13_client_reconnecting_with_its_ticket_resumes()
    {
        // TLS 1.3 tickets arrive after the handshake: the first client makes a request (reading the ticket with the
        // answer) and saves the session; the second offers it.
        var session = Path.Combine(_folder, "session.pem");
        var first = await OpenSslAsync(Request, "-tls1_3", "-ign_eof", "-sess_out", session);
        Assert.Contains("New, TLSv1.3", first, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", first, StringComparison.Ordinal);
        Assert.True(File.Exists(session));

        var second = await OpenSslAsync(Request, "-tls1_3", "-ign_eof", "-sess_in", session);
        Assert.Contains("Reused, TLSv1.3", second, StringComparison.Ordinal);
        Assert.Contains("HTTP/1.1 200", second, StringComparison.Ordinal);
    }

    /// <summary><c>openssl s_client</c> against the gateway with <paramref name="input"/> sent; stdout and stderr.</summary>
    private Task<string> OpenSslAsync(string? input, params string[] flags) => TlsProbe.OpenSslClientAsync(_gateway.BaseAddress, "localhost", input, flags);
}
