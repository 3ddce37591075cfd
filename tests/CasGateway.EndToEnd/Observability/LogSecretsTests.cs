using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CasGateway.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace CasGateway.EndToEnd.Observability;

/// <summary>Console capture needs the process's standard output to itself.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "Console capture";
}

/// <summary>Issue 9: passwords, tokens and cookies never reach any log output, at any level.</summary>
[Collection(ConsoleCapture.Name)]
public sealed class LogSecretsTests
{
    [Fact]
    public async Task Password_bearer_token_and_cookies_appear_in_no_log_output_even_at_verbose()
    {
        await using var topology = await TestTopology.StartAsync();
        await using var issuer = await OidcServer.StartAsync();
        var log = new CapturingLogSink();
        var settings = issuer.GatewaySettings();
        settings["Serilog:MinimumLevel:Default"] = "Verbose";
        // The console as a deployment that logs to standard output adds it (production settings log to the file only).
        settings["Serilog:WriteTo:Console:Name"] = "Console";
        foreach (var source in new[] { "Microsoft.AspNetCore", "Yarp", "Microsoft.Hosting.Lifetime" })
        {
            settings[$"Serilog:MinimumLevel:Override:{source}"] = "Verbose";
        }

        var console = new StringWriter();
        var originalOut = Console.Out;
        var originalError = Console.Error;
        Console.SetOut(TextWriter.Synchronized(console));
        Console.SetError(TextWriter.Synchronized(console));
        var alice = topology.Directory.Mailbox("alice@contoso.com");
        var token = issuer.IssueToken("bob@contoso.com");
        const string sessionCookie = "session=Sess10nS3cret-7f3a9c";
        string? backendCookie;
        try
        {
            await using (var gateway = await TestGateway.StartAsync(topology, settings, services => services.AddSingleton<ILogEventSink>(log)))
            {
                using var client = gateway.CreateClient();

                using var basic = new HttpRequestMessage(HttpMethod.Get, "/owa/");
                basic.Headers.Authorization = TestGateway.Basic(alice);
                basic.Headers.Add("Cookie", sessionCookie);
                using var basicResponse = await client.SendAsync(basic);
                Assert.Equal(HttpStatusCode.OK, basicResponse.StatusCode);
                backendCookie = basicResponse.Headers.GetValues("Set-Cookie").Select(v => v.Split(';')[0]).Single(v => v.StartsWith("X-BackEndCookie=", StringComparison.Ordinal));

                using var withBackendCookie = new HttpRequestMessage(HttpMethod.Get, "/owa/inbox");
                withBackendCookie.Headers.Authorization = TestGateway.Basic(alice);
                withBackendCookie.Headers.Add("Cookie", backendCookie + "; " + sessionCookie);
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(withBackendCookie)).StatusCode);

                using var wrongPassword = new HttpRequestMessage(HttpMethod.Get, "/owa/");
                wrongPassword.Headers.Authorization = TestGateway.Basic("alice@contoso.com", alice.Password + "-typo");
                Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(wrongPassword)).StatusCode);

                using var bearer = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
                bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                bearer.Headers.Add("Cookie", sessionCookie);
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(bearer)).StatusCode);

                using var badToken = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
                badToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token[..^6] + "AAAAAA");
                Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(badToken)).StatusCode);
            }
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }

        // Stopping the gateway flushed its asynchronous sinks: console and files are complete.
        var outputs = new Dictionary<string, string>
        {
            ["captured events"] = log.RenderAll(),
            ["console"] = console.ToString(),
            ["log files"] = string.Concat(Directory.GetFiles(Path.GetDirectoryName(topology.LogFilePattern)!).Select(File.ReadAllText)),
        };
        // Not vacuous: every output saw the requests (by user and path) at verbose level.
        Assert.Equal(5, log.ProtocolEvents.Count);
        Assert.Contains(log.Events, e => e.Level == Serilog.Events.LogEventLevel.Verbose || e.Level == Serilog.Events.LogEventLevel.Debug);
        foreach (var (name, text) in outputs)
        {
            Assert.Contains("alice@contoso.com", text, StringComparison.Ordinal);
            Assert.Contains("/EWS/Exchange.asmx", text, StringComparison.Ordinal);
        }

        var secrets = new Dictionary<string, string>
        {
            ["password"] = alice.Password,
            ["mistyped password"] = alice.Password + "-typo",
            ["Basic credentials"] = TestGateway.Basic(alice).Parameter!,
            ["bearer token"] = token,
            ["bearer token signature"] = token.Split('.')[2],
            ["bearer token payload"] = token.Split('.')[1],
            ["session cookie value"] = "Sess10nS3cret-7f3a9c",
            ["backend cookie value"] = backendCookie!.Split('=', 2)[1],
        };
        foreach (var (output, text) in outputs)
        {
            foreach (var (secret, value) in secrets)
            {
                Assert.False(text.Contains(value, StringComparison.Ordinal), $"The {secret} appears in the {output}.");
                var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(value));
                Assert.False(text.Contains(encoded, StringComparison.Ordinal), $"The {secret} appears base64-encoded in the {output}.");
            }
        }
    }
}
