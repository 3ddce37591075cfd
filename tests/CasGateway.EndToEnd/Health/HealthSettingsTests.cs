using System.Net;
using System.Text.Json;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.Health;

/// <summary>Issue 6: failure mode, management port, state file across restarts, initial states from configuration.</summary>
public sealed class HealthSettingsTests : IAsyncLifetime
{
    private TestTopology _topology = null!;

    public async Task InitializeAsync() => _topology = await TestTopology.StartAsync();

    public Task DisposeAsync() => Cleanup.DisposeAllAsync(_topology);

    [Fact]
    public async Task Exchange_style_failure_closes_the_connection_instead_of_answering()
    {
        var settings = HealthTestKit.Settings();
        settings["Gateway:Health:FailureMode"] = "CloseConnection";
        await using var gateway = await TestGateway.StartAsync(_topology, settings);
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.ProbeAsync("/owa/healthcheck.htm")).Status);

        await client.SetStateAsync(_topology, "Owa", "Inactive");

        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/owa/healthcheck.htm"));
        Assert.Equal(HttpStatusCode.OK, (await client.ProbeAsync("/ews/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Management_port_serves_probes_only()
    {
        var settings = HealthTestKit.Settings();
        settings["Gateway:Health:ManagementPort"] = "0";
        await using var gateway = await TestGateway.StartAsync(_topology, settings);
        using var management = new HttpClient { BaseAddress = gateway.ManagementAddress() };
        Assert.StartsWith("https://", gateway.BaseAddress.ToString(), StringComparison.Ordinal);

        Assert.Equal((HttpStatusCode.OK, "200 OK<br/>cas-test.contoso.com"), await management.ProbeAsync("/owa/healthcheck.htm"));
        Assert.Equal(HttpStatusCode.OK, (await management.ProbeAsync("/healthz")).Status);
        Assert.Equal(HttpStatusCode.OK, (await management.ProbeAsync("/readyz")).Status);

        var before = _topology.Backend("mbx1.contoso.com").Requests;
        using var mail = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        mail.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox("alice@contoso.com"));
        Assert.Equal(HttpStatusCode.NotFound, (await management.SendAsync(mail)).StatusCode);
        using var admin = HealthTestKit.SetStateRequest(_topology, "Owa", "Inactive");
        Assert.Equal(HttpStatusCode.NotFound, (await management.SendAsync(admin)).StatusCode);
        Assert.Equal(before, _topology.Backend("mbx1.contoso.com").Requests);
        Assert.Equal(HttpStatusCode.OK, (await management.ProbeAsync("/owa/healthcheck.htm")).Status);
    }

    [Fact]
    public async Task Component_states_survive_a_restart_through_the_state_file()
    {
        var stateFile = Path.Combine(_topology.Folder, "states", "node-a.json");
        var settings = HealthTestKit.Settings(stateFile: stateFile);
        await using (var first = await TestGateway.StartAsync(_topology, settings))
        {
            using var client = first.CreateClient();
            await client.SetStateAsync(_topology, "Owa", "Inactive", "Maintenance", "patching KB5031234");
            await client.SetStateAsync(_topology, "Ews", "Draining", "HealthApi", "flapping backend");
            await client.SetStateAsync(_topology, "Ews", "Active", "HealthApi", "recovered");
        }
        Assert.True(File.Exists(stateFile));

        await using var second = await TestGateway.StartAsync(_topology, settings);
        using var again = second.CreateClient();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await again.ProbeAsync("/owa/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await again.ProbeAsync("/ews/healthcheck.htm")).Status);

        var owa = await ComponentAsync(again, "Owa");
        Assert.Equal("Inactive", owa.GetProperty("state").GetString());
        var hold = Assert.Single(owa.GetProperty("holds").EnumerateArray());
        Assert.Equal("Maintenance", hold.GetProperty("requester").GetString());
        Assert.Equal("patching KB5031234", hold.GetProperty("reason").GetString());
        Assert.Equal(HealthTestKit.Admin, hold.GetProperty("changedBy").GetString());
    }

    [Fact]
    public async Task Initial_states_come_from_configuration_while_there_is_no_state_file()
    {
        var settings = HealthTestKit.Settings(stateFile: Path.Combine(_topology.Folder, "states", "fresh.json"));
        settings["Gateway:Health:Components:MapiProxy:Deployment"] = "Inactive";
        await using var gateway = await TestGateway.StartAsync(_topology, settings);
        using var client = gateway.CreateClient();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.ProbeAsync("/mapi/healthcheck.htm")).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.ProbeAsync("/owa/healthcheck.htm")).Status);
        var hold = Assert.Single((await ComponentAsync(client, "Mapi")).GetProperty("holds").EnumerateArray());
        Assert.Equal("configuration", hold.GetProperty("changedBy").GetString());
    }

    [Fact]
    public async Task A_corrupt_state_file_fails_start_up_rather_than_bringing_a_drained_node_back()
    {
        var stateFile = Path.Combine(_topology.Folder, "corrupt.json");
        await File.WriteAllTextAsync(stateFile, "{ not json");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestGateway.StartAsync(_topology, HealthTestKit.Settings(stateFile: stateFile)));
        Assert.Contains("corrupt.json", error.ToString(), StringComparison.Ordinal);
    }

    private async Task<JsonElement> ComponentAsync(HttpClient client, string component)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/components");
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(HealthTestKit.Admin));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("components").EnumerateArray()
            .Single(c => c.GetProperty("component").GetString() == component).Clone();
    }
}
