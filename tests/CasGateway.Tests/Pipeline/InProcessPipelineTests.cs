using System.Net;
using CasGateway.TestSupport;

namespace CasGateway.Tests.Pipeline;

/// <summary>Fast checks of each stage through the in-process host.</summary>
public sealed class InProcessPipelineTests : IAsyncLifetime
{
    private TestTopology _topology = null!;
    private GatewayFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _topology = await TestTopology.StartAsync();
        _factory = GatewayFactory.For(_topology);
        _client = _factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_client, _factory, _topology);
    }

    [Fact]
    public async Task Authentication_stage_challenges_anonymous_requests()
    {
        using var response = await _client.GetAsync("/ews/exchange.asmx");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Anchor_stage_rejects_a_malformed_hint_with_400()
    {
        using var request = Request("/EWS/Exchange.asmx", "alice@contoso.com");
        request.Headers.TryAddWithoutValidation("X-AnchorMailbox", "../../etc/passwd");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Locate_stage_answers_404_for_an_unknown_mailbox()
    {
        using var request = Request("/EWS/Exchange.asmx", "alice@contoso.com");
        request.Headers.Add("X-AnchorMailbox", "ghost@contoso.com");
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("alice@contoso.com", "mbx1.contoso.com")]
    [InlineData("bob@contoso.com", "mbx2.contoso.com")]
    public async Task Forward_stage_reaches_the_active_server(string user, string server)
    {
        using var request = Request("/owa/", user);
        var answer = await (await _client.SendAsync(request)).ReadAnswerAsync();
        Assert.Equal(server, answer.Server);
        Assert.Equal(user, answer.IdentityUser);
    }

    [Fact]
    public async Task Paths_match_case_insensitively()
    {
        using var request = Request("/ews/EXCHANGE.ASMX", "bob@contoso.com");
        Assert.Equal("mbx2.contoso.com", (await (await _client.SendAsync(request)).ReadAnswerAsync()).Server);
    }

    private HttpRequestMessage Request(string path, string user)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = TestGateway.Basic(_topology.Directory.Mailbox(user));
        return request;
    }
}
