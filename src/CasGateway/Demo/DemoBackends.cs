using System.Globalization;
using System.Net;
using CasGateway.Anchoring;
using CasGateway.BackendAuth;
using CasGateway.DemoBackend;
using CasGateway.Forwarding;
using CasGateway.Location;
using Microsoft.Extensions.Options;

namespace CasGateway.Demo;

/// <summary>Runs a demo mailbox server for every directory server whose backend URL is on loopback.</summary>
public sealed class DemoBackends(
    DirectoryFileSource directory,
    DemoSecrets secrets,
    IOptions<BackendOptions> backend,
    IHostEnvironment environment,
    ILogger<DemoBackends> logger) : IHostedService
{
    private readonly List<DemoMailboxServer> _servers = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var identity = backend.Value.Identity;
        // A real backend is given only the public key; the demo derives it from the gateway's private key file.
        GatewayIdentityCodec codec = identity.Algorithm == IdentitySigningAlgorithm.HmacSha256
            ? new HmacGatewayIdentityCodec(Convert.FromBase64String(identity.SigningKey), TimeSpan.FromMinutes(1))
            : PublicCodec(identity, environment.ContentRootPath);
        foreach (var server in directory.Current.Servers.Where(s => IsLoopback(s.BackendUrl)))
        {
            var name = server.Fqdn;
            var trust = new GatewayTrustOptions
            {
                Codec = codec,
                Audience = name,
                HeaderName = identity.HeaderName,
                AllowedClientCertificateThumbprints = [secrets.GatewayClientThumbprint],
            };
            var demo = await DemoMailboxServer.StartAsync(
                new DemoMailboxServerOptions
                {
                    ServerName = name,
                    Port = server.BackendUrl.Port,
                    Certificate = server.BackendUrl.Scheme == Uri.UriSchemeHttps ? secrets.BackendCertificate : null,
                    Trust = trust,
                    MountedElsewhere = mailbox => MountedElsewhere(name, mailbox),
                },
                cancellationToken);
            _servers.Add(demo);
            logger.LogInformation("Demo mailbox server {Server} listening on {Address}", name, demo.BaseAddress);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        _servers.Clear();
    }

    /// <summary>As an Exchange backend: if the mailbox's database is active elsewhere, say where.</summary>
    private string? MountedElsewhere(string serverName, string mailboxAddress)
    {
        if (!AnchorMailbox.TryParse(mailboxAddress, out var anchor) || directory.Current.Locate(anchor.Value) is not { IsCloud: false } location)
        {
            return null;
        }
        var active = location.Server;
        return string.Equals(active.Fqdn, serverName, StringComparison.OrdinalIgnoreCase)
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{location.Database.Guid}~{active.Fqdn}~{active.Version}");
    }

    private static EcdsaGatewayIdentityCodec PublicCodec(IdentityHeaderOptions identity, string contentRoot)
    {
        using var signing = (EcdsaGatewayIdentityCodec)IdentityTokens.Create(identity, contentRoot);
        return EcdsaGatewayIdentityCodec.FromPublicKeyPem(signing.PublicKeyPem(), TimeSpan.FromMinutes(1));
    }

    private static bool IsLoopback(Uri url)
        => url.IsLoopback || (IPAddress.TryParse(url.Host, out var ip) && IPAddress.IsLoopback(ip));
}
