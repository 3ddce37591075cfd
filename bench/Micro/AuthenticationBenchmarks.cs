using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using BenchmarkDotNet.Attributes;
using CasGateway.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.DependencyInjection;

namespace CasGateway.Micro;

/// <summary>
/// The authentication and authorization work of one proxied request with Basic credentials the gateway has seen
/// before (issue 23 goal 1): the gateway built as it runs (production pipeline, File store), then for each request a
/// DI scope and an <see cref="HttpContext"/> with the Authorization header, and the framework's policy evaluation of
/// the route's policy — OWA's browser policy (Basic or the session cookie) and the fallback policy of every other
/// family — as the authorization middleware does it. Only public APIs, so the same file measures older builds.
/// </summary>
[MemoryDiagnoser]
public class AuthenticationBenchmarks
{
    private const string Password = "Bench-Passw0rd!";

    private string _folder = null!;
    private WebApplication _app = null!;
    private AuthorizationPolicy _browser = null!;
    private AuthorizationPolicy _fallback = null!;
    private string _header = null!;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("casgw-micro-auth").FullName;
        var directory = Path.Combine(_folder, "directory.json");
        File.WriteAllText(directory, $$"""
            {"sites":[{"name":"Bench"}],
             "servers":[{"fqdn":"mbx1.contoso.com","site":"Bench","version":"15.2.1544.4","backendUrl":"http://127.0.0.1:9/"}],
             "databases":[{"name":"DB01","guid":"d0d0d0d0-0000-4000-8000-000000000001","copies":[{"server":"mbx1.contoso.com","active":true}]}],
             "mailboxes":[{"guid":"a1a1a1a1-0000-4000-8000-000000000001","primarySmtpAddress":"user00001@contoso.com","aliases":[],"database":"DB01","displayName":"User 1","passwordHash":"{{PasswordHash.Create(Password)}}"}]}
            """);
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
            File.WriteAllText(Path.Combine(_folder, "cert.pem"), certificate.ExportCertificatePem());
            File.WriteAllText(Path.Combine(_folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        }
        using (var identity = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            File.WriteAllText(Path.Combine(_folder, "identity-ecdsa.pem"), identity.ExportPkcs8PrivateKeyPem());
        }
        _app = GatewayApp.Build(GatewayApp.CreateBuilder(
        [
            "--environment", "Production",
            "--Gateway:Demo:Enabled=false",
            "--Gateway:NodeName=cas-bench.contoso.com",
            $"--Gateway:DataPath={Path.Combine(_folder, "data")}",
            "--Gateway:Listeners:Address=127.0.0.1",
            $"--Gateway:Listeners:Certificates:0:Path={Path.Combine(_folder, "cert.pem")}",
            $"--Gateway:Listeners:Certificates:0:KeyPath={Path.Combine(_folder, "key.pem")}",
            $"--Gateway:Locator:File:Path={directory}",
            $"--Gateway:Backend:Identity:PrivateKeyPath={Path.Combine(_folder, "identity-ecdsa.pem")}",
            "--Serilog:MinimumLevel:Default=Warning",
        ]));
        var policies = _app.Services.GetRequiredService<IAuthorizationPolicyProvider>();
        _browser = policies.GetPolicyAsync("BrowserFamilies").GetAwaiter().GetResult() ?? throw new InvalidOperationException("no browser policy");
        _fallback = policies.GetFallbackPolicyAsync().GetAwaiter().GetResult() ?? throw new InvalidOperationException("no fallback policy");
        _header = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user00001@contoso.com:" + Password));
        // The first request pays the PBKDF2; every measured one is answered by the credential cache.
        if (!BrowserPolicy().GetAwaiter().GetResult())
        {
            throw new InvalidOperationException("the benchmark user was not authorized");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        ((IDisposable)_app).Dispose();
        Directory.Delete(_folder, true);
    }

    /// <summary>OWA and ECP: Basic, Bearer or the browser session.</summary>
    [Benchmark(Baseline = true)]
    public Task<bool> BrowserPolicy() => AuthorizeAsync(_browser);

    /// <summary>EWS, ActiveSync, MAPI and the rest.</summary>
    [Benchmark]
    public Task<bool> FallbackPolicy() => AuthorizeAsync(_fallback);

    private async Task<bool> AuthorizeAsync(AuthorizationPolicy policy)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Headers.Authorization = _header;
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        var evaluator = scope.ServiceProvider.GetRequiredService<IPolicyEvaluator>();
        var authenticated = await evaluator.AuthenticateAsync(policy, context);
        var authorized = await evaluator.AuthorizeAsync(policy, authenticated, context, null);
        return authorized.Succeeded && GatewayClaims.AddressOf(context.User) is not null;
    }
}
