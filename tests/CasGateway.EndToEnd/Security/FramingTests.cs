using System.Text;

namespace CasGateway.EndToEnd.Security;

/// <summary>Issue 15 item 2: ambiguous HTTP/1.1 framing is refused with 400 and the connection closed, as nginx and HAProxy do.</summary>
public sealed class FramingTests(SecurityDeployment deployment) : IClassFixture<SecurityDeployment>
{
    private const string Alice = "alice@contoso.com";

    public static TheoryData<string, string> Cases() => new()
    {
        { "Content-Length and chunked", "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" },
        { "chunked and Content-Length", "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" },
        { "Content-Length and identity TE", "POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\nContent-Length: 4\r\nTransfer-Encoding: identity\r\n\r\nabcd" },
        { "bare LF line endings", "GET /owa/ HTTP/1.1\nHost: localhost\nAuthorization: {auth}\n\n" },
        { "one bare LF header line", "GET /owa/ HTTP/1.1\r\nHost: localhost\nAuthorization: {auth}\r\n\r\n" },
        { "bare LF ending the head", "GET /owa/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\n\n" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Ambiguous_framing_is_refused_and_the_connection_closed(string name, string request)
    {
        var before = deployment.BackendRequests;
        var bytes = Encoding.ASCII.GetBytes(request.Replace("{auth}", deployment.BasicOf(Alice), StringComparison.Ordinal));
        var answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate, bytes, awaitClose: true);

        Assert.True(answer.Status == 400, $"{name}: expected 400, got {answer.Status}: {answer.Head}");
        Assert.True(answer.Closed, $"{name}: the connection stayed open");
        Assert.Equal(before, deployment.BackendRequests);
    }

    [Fact]
    public async Task Well_framed_requests_are_still_served()
    {
        var auth = deployment.BasicOf(Alice);
        var chunked = Encoding.ASCII.GetBytes($"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n");
        var answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate, chunked);
        Assert.True(answer.Status == 200, answer.Head + answer.Body);
        Assert.Contains("\"bodyBytes\": 4", answer.Body, StringComparison.Ordinal);

        var sized = Encoding.ASCII.GetBytes($"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: localhost\r\nAuthorization: {auth}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd");
        answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate, sized);
        Assert.True(answer.Status == 200, answer.Head + answer.Body);
        Assert.Contains("\"bodyBytes\": 4", answer.Body, StringComparison.Ordinal);
    }
}
