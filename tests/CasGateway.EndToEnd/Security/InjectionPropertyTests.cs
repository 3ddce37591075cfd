using System.Net.Http.Json;
using System.Text;
using CasGateway.DemoBackend;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Security;

/// <summary>
/// Issue 15 item 1, as a property: random bytes in the headers the gateway reads or rewrites, and two users on one
/// pooled backend connection with hostile cookies mixed in.
/// </summary>
public sealed class InjectionPropertyTests(SecurityDeployment deployment, ITestOutputHelper output) : IClassFixture<SecurityDeployment>
{
    private static readonly string[] Headers = ["Cookie", "X-AnchorMailbox", "X-OWA-ExplicitLogonUser", "X-Forwarded-For", "User-Agent"];

    /// <summary>
    /// Whatever bytes go into a header, the backends see exactly one request — well-formed, carrying the caller's
    /// identity and only printable ASCII — or none; and no mailbox server is blamed for the client's bytes.
    /// </summary>
    [Fact]
    public async Task Random_bytes_in_headers_reach_a_backend_as_one_well_formed_request_or_not_at_all()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var alphabet = "\r\n\0\t %0D%0A%00;=,:@\"\\\u00c3\u00a9\u00ff\u007fabAB09.-".ToCharArray();
        var forwarded = 0;
        for (var i = 0; i < 150; i++)
        {
            var header = Headers[random.Next(Headers.Length)];
            var value = new byte[random.Next(1, 24)];
            for (var j = 0; j < value.Length; j++)
            {
                value[j] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)alphabet[random.Next(alphabet.Length)];
            }
            var target = header == "X-AnchorMailbox" ? "/EWS/Exchange.asmx" : "/owa/";
            var before = deployment.BackendRequests;
            var answer = await RawClients.Http1Async(deployment.Gateway.BaseAddress, deployment.Gateway.ServerCertificate,
                deployment.Http1Get("alice@contoso.com", Encoding.ASCII.GetBytes(target), (header, value)));
            var seen = deployment.BackendRequests - before;
            var what = $"{header}: {Convert.ToHexString(value)} → {answer.Status}";
            Assert.True(seen is 0 or 1, what + $", backend saw {seen}");
            if (seen == 1)
            {
                forwarded++;
                Assert.True(answer.Status is 200, what);
                var echo = System.Text.Json.JsonSerializer.Deserialize<DemoAnswer>(answer.Body, DemoAnswer.JsonOptions)!;
                Assert.Equal("alice@contoso.com", echo.IdentityUser);
                Assert.True(echo.Cookie.All(c => c is >= ' ' and <= '~'), what + " cookie " + echo.Cookie);
                Assert.DoesNotContain("X-BackEndCookie", echo.Cookie, StringComparison.OrdinalIgnoreCase);
                Assert.Equal("", echo.Authorization);
            }
            else
            {
                Assert.True(answer.Status is 400 or 404 or 0, what);
            }
        }
        output.WriteLine($"{forwarded} of 150 forwarded");
        await deployment.AssertNoBackendMarkedUnhealthyAsync();
    }

    /// <summary>
    /// Two users share mbx1's single pooled connection; a few thousand interleaved requests, some with smuggling
    /// cookies: every answer that arrives is for the user who asked.
    /// </summary>
    [Fact]
    public async Task Two_users_on_one_pooled_connection_never_get_each_others_answers()
    {
        var users = new[] { "alice@contoso.com", "carol@contoso.com" };
        var hostile = new[]
        {
            "X-BackEndCookie=x; b=%0D%0AContent-Length:%200%0D%0A%0D%0AGET%20/owa/%20HTTP/1.1%0D%0AHost:%20x%0D%0A%0D%0A",
            "b=%0d%0aX-CasGateway-Identity:%20forged",
            "b=%C3%A9",
        };
        using var client = deployment.Gateway.CreateClient(maxConnections: 8);
        var wrong = 0;
        var served = 0;
        var refused = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = deadline.Token }, async (i, ct) =>
        {
            var user = users[i % 2];
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/owa/?n={i}");
            request.Headers.Authorization = CasGateway.TestSupport.TestGateway.Basic(deployment.Topology.Directory.Mailbox(user));
            if (i % 5 == 0)
            {
                request.Headers.TryAddWithoutValidation("Cookie", hostile[i / 5 % hostile.Length]);
            }
            using var response = await client.SendAsync(request, ct);
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                var answer = (await response.Content.ReadFromJsonAsync<DemoAnswer>(DemoAnswer.JsonOptions, ct))!;
                if (answer.IdentityUser != user || answer.Mailbox != user || answer.Query != $"?n={i}")
                {
                    Interlocked.Increment(ref wrong);
                }
                Interlocked.Increment(ref served);
            }
            else
            {
                Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
                Interlocked.Increment(ref refused);
            }
        });
        output.WriteLine($"{served} served, {refused} refused");
        Assert.Equal(0, wrong);
        Assert.True(refused >= 2 * 2000 / 5 / 3, $"only {refused} refused");
        Assert.True(served >= 2000 - 2000 / 5, $"only {served} served");
        // One pooled forwarding connection; YARP's active health probes use a client of their own.
        Assert.InRange(deployment.Topology.Backend("mbx1.contoso.com").PeakConnections, 1, 2);
        await deployment.AssertNoBackendMarkedUnhealthyAsync();
    }
}
