using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using CasGateway.Listeners;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Health;

/// <summary>Issue 6: the admin endpoint — who may change component states, and how holds combine.</summary>
public sealed class AdminEndpointTests : IAsyncLifetime
{
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _adminCertificate =
        CertificateFiles.CreateSelfSigned("ops-admin", ["ops-admin"], clientAuth: true);

    private TestTopology _topology = null!;
    private OidcServer _issuer = null!;
    private TestGateway _gateway = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _issuer = await OidcServer.StartAsync();
        var settings = HealthTestKit.Settings();
        foreach (var (key, value) in _issuer.GatewaySettings())
        {
            settings[key] = value;
        }
        settings["Gateway:Health:AdminCertificateThumbprints:0"] = _adminCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        _gateway = await TestGateway.StartAsync(_topology, settings);
        _client = _gateway.CreateClient();
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _gateway, _issuer, _topology);
    }

    [Fact]
    public async Task Anonymous_caller_gets_401_with_challenges_and_changes_nothing()
    {
        using var get = await _client.GetAsync("/admin/components");
        Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
        Assert.Contains(get.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        Assert.Contains(get.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");

        using var put = await _client.PutAsJsonAsync("/admin/components/Owa", new { state = "Inactive", requester = "Maintenance", reason = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Authenticated_non_admins_get_403()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync(TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"))));
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync(new AuthenticationHeaderValue("Bearer", _issuer.IssueToken("bob@contoso.com"))));
        Assert.Equal(HttpStatusCode.Unauthorized, await PutAsync(TestGateway.Basic(HealthTestKit.Admin, "wrong password")));
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Listed_basic_user_is_an_admin()
    {
        Assert.Equal(HttpStatusCode.OK, await PutAsync(TestGateway.Basic(_topology.Directory.Mailbox(HealthTestKit.Admin))));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Bearer_token_with_the_admin_role_is_an_admin()
    {
        var token = _issuer.IssueToken("ops@contoso.com", extraClaims: [new Claim("roles", "CasGateway.Admin")]);
        Assert.Equal(HttpStatusCode.OK, await PutAsync(new AuthenticationHeaderValue("Bearer", token)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Listed_client_certificate_is_an_admin_and_others_are_not()
    {
        using var admin = CertificateClient(_adminCertificate);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/admin/components/Owa", new { state = "Inactive", requester = "Maintenance", reason = "cert admin" })).StatusCode);
        var body = await admin.GetStringAsync("/admin/components");
        Assert.Contains("certificate:" + _adminCertificate.GetCertHashString(HashAlgorithmName.SHA256), body, StringComparison.Ordinal);

        using var stranger = CertificateClient(CertificateFiles.CreateSelfSigned("stranger", ["stranger"], clientAuth: true));
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/admin/components")).StatusCode);
    }

    [Fact]
    public async Task Bad_changes_are_refused_with_reasons()
    {
        var admin = TestGateway.Basic(_topology.Directory.Mailbox(HealthTestKit.Admin));
        Assert.Equal(HttpStatusCode.NotFound, await PutAsync(admin, "HubTransport", new { state = "Inactive", requester = "Maintenance", reason = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync(admin, "Owa", new { state = "Off", requester = "Maintenance", reason = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync(admin, "Owa", new { state = "1", requester = "Maintenance", reason = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync(admin, "Owa", new { state = "Inactive", requester = "Somebody", reason = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync(admin, "Owa", new { state = "Inactive", requester = "Maintenance", reason = " " }));
        Assert.Equal(HttpStatusCode.BadRequest, await PutAsync(admin, "Owa", new { state = "Inactive", requester = "Maintenance", reason = "a\nb" }));
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task A_component_is_active_only_when_no_requester_holds_it_down()
    {
        await _client.SetStateAsync(_topology, "Owa", "Inactive", "Maintenance", "patching");
        await _client.SetStateAsync(_topology, "Owa", "Draining", "HealthApi", "probe failures");
        Assert.Equal("Inactive", await StateAsync("Owa"));

        await _client.SetStateAsync(_topology, "Owa", "Active", "Maintenance", "patched");
        Assert.Equal("Draining", await StateAsync("Owa"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);

        await _client.SetStateAsync(_topology, "Owa", "Active", "HealthApi", "healthy again");
        Assert.Equal("Active", await StateAsync("Owa"));
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task The_node_being_offline_takes_every_protocol_down_and_the_admin_can_still_bring_it_back()
    {
        await _client.SetStateAsync(_topology, "ServerWideOffline", "Inactive");
        Assert.Equal("Inactive", await StateAsync("Ews"));
        using var mail = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        mail.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("bob@contoso.com"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.SendAsync(mail)).StatusCode);

        await _client.SetStateAsync(_topology, "ServerWideOffline", "Active");
        Assert.Equal(HttpStatusCode.OK, (await _client.ProbeAsync("/ews/healthcheck.htm")).Status);
    }

    private async Task<HttpStatusCode> PutAsync(AuthenticationHeaderValue credentials, string component = "Owa", object? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/components/{component}")
        {
            Content = JsonContent.Create(body ?? new { state = "Inactive", requester = "Maintenance", reason = "test" }),
        };
        request.Headers.Authorization = credentials;
        using var response = await _client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<string?> StateAsync(string component)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/components");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(HealthTestKit.Admin));
        using var response = await _client.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("components").EnumerateArray()
            .Single(c => c.GetProperty("component").GetString() == component).GetProperty("state").GetString();
    }

    private HttpClient CertificateClient(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var handler = HealthTestKit.TrustingHandler(_topology.GatewayCertificate);
        handler.SslOptions.ClientCertificates = [certificate];
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        return new HttpClient(handler) { BaseAddress = _gateway.BaseAddress };
    }
}
