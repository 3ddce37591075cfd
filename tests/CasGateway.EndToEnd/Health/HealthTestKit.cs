using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CasGateway.Anchoring;
using CasGateway.Location;
using CasGateway.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.EndToEnd.Health;

/// <summary>Tests that run load, measure timings or read the gateway's log run alone, undisturbed by other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadSensitive
{
    public const string Name = "Load-sensitive";
}

public static class HealthTestKit
{
    public const string Admin = "alice@contoso.com";

    /// <summary>
    /// Settings most health tests share: the node name, the admin user, short timings (dependency checks and YARP's
    /// active probes of the mailbox servers every second, the shortest each allows).
    /// </summary>
    public static Dictionary<string, string?> Settings(string node = "cas-test.contoso.com", string? stateFile = null, TimeSpan? grace = null) => new()
    {
        ["Gateway:NodeName"] = node,
        ["Gateway:Health:AdminUsers:0"] = Admin,
        ["Gateway:Health:DrainGracePeriod"] = (grace ?? TimeSpan.FromSeconds(1)).ToString(),
        ["Gateway:Health:RefreshInterval"] = "00:00:01",
        ["Gateway:Health:ProbeTimeout"] = "00:00:00.500",
        ["Gateway:Backend:Health:ActiveInterval"] = "00:00:01",
        ["Gateway:Health:StateFile"] = stateFile,
    };

    /// <summary>Changes a component through the admin endpoint as the admin user; fails the test unless it is accepted.</summary>
    public static async Task SetStateAsync(this HttpClient client, TestTopology topology, string component, string state,
        string requester = "Maintenance", string reason = "test")
    {
        using var response = await client.SendAsync(SetStateRequest(topology, component, state, requester, reason));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new Xunit.Sdk.XunitException($"PUT {component} {state}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static HttpRequestMessage SetStateRequest(TestTopology topology, string component, string state, string requester = "Maintenance", string reason = "test")
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/components/{component}")
        {
            Content = JsonContent.Create(new { state, requester, reason }),
        };
        request.Headers.Authorization = TestGateway.Basic(topology.Directory.Mailbox(Admin));
        return request;
    }

    public static async Task<(HttpStatusCode Status, string Body)> ProbeAsync(this HttpClient client, string path = "/ews/healthcheck.htm")
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="within"/>. Returns how long it took.</summary>
    public static async Task<TimeSpan> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > within)
            {
                throw new Xunit.Sdk.XunitException($"Not within {within.TotalSeconds:0.#} s: {what}");
            }
            await Task.Delay(10);
        }
        return clock.Elapsed;
    }

    public static Task<TimeSpan> EventuallyAsync(Func<bool> condition, TimeSpan within, string what)
        => EventuallyAsync(() => Task.FromResult(condition()), within, what);

    /// <summary>The gateway's plain-HTTP management address (its listener with <c>http://</c>).</summary>
    public static Uri ManagementAddress(this TestGateway gateway)
        => new(gateway.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Single(a => a.StartsWith("http://", StringComparison.Ordinal)));

    /// <summary>A handler that trusts exactly <paramref name="certificate"/> as the server, over HTTP/1.1.</summary>
    public static SocketsHttpHandler TrustingHandler(X509Certificate2 certificate)
    {
        var expected = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    cert is not null && X509CertificateLoader.LoadCertificate(cert.GetRawCertData()).GetCertHashString(HashAlgorithmName.SHA256) == expected,
            },
        };
    }

    /// <summary>A loopback port nobody listens on right now (for programs that cannot be told to pick one).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
