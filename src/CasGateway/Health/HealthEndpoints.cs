using CasGateway.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>Marks the gateway's own health and admin endpoints; <see cref="OnManagementPort"/> ones are also served there.</summary>
public sealed record HealthEndpointMetadata(bool OnManagementPort);

/// <summary>The probe endpoints: per protocol <c>healthcheck.htm</c>, <c>/healthz</c> (liveness), <c>/readyz</c> (readiness).</summary>
public static class HealthEndpoints
{
    /// <summary>
    /// The virtual directories Exchange-aware balancers probe, and their components; <c>imap</c>, <c>pop</c> and <c>smtp</c> let a
    /// balancer in front of the mail listeners follow the same drain over HTTP, and <c>um</c> the SIP call router's.
    /// </summary>
    public static readonly IReadOnlyList<(string VirtualDirectory, ServerComponent Component)> VirtualDirectories =
    [
        ("owa", ServerComponent.Owa),
        ("ecp", ServerComponent.Ecp),
        ("ews", ServerComponent.Ews),
        ("Microsoft-Server-ActiveSync", ServerComponent.ActiveSync),
        ("mapi", ServerComponent.Mapi),
        ("rpc", ServerComponent.Rpc),
        ("oab", ServerComponent.Oab),
        ("autodiscover", ServerComponent.Autodiscover),
        ("powershell", ServerComponent.PowerShell),
        ("imap", ServerComponent.Imap),
        ("pop", ServerComponent.Pop),
        ("smtp", ServerComponent.Smtp),
        ("um", ServerComponent.UmCallRouter),
    ];

    private static readonly HealthEndpointMetadata Probe = new(OnManagementPort: true);
    private static readonly string[] ProbeMethods = [HttpMethods.Get, HttpMethods.Head];

    public static void Map(WebApplication app)
    {
        var probe = app.Services.GetRequiredService<HealthProbe>();
        foreach (var (directory, component) in VirtualDirectories)
        {
            // Literal segments outrank the family routes' catch-alls, so these never reach the forwarder.
            app.MapMethods($"/{directory}/healthcheck.htm", ProbeMethods, (RequestDelegate)(context => probe.AnswerAsync(context, component)))
                .AllowAnonymous()
                .WithMetadata(Probe);
        }
        // Liveness: the process answers; no check runs.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false })
            .AllowAnonymous()
            .WithMetadata(Probe);
        app.MapMethods("/readyz", ProbeMethods, (RequestDelegate)ReadinessAsync)
            .AllowAnonymous()
            .WithMetadata(Probe);
    }

    /// <summary>
    /// Ready when the node is in service and its dependencies answer. The body says what is and is not — node name,
    /// component states, every mailbox server and its reachability — only to loopback, the scrape networks and
    /// admins; anyone else learns the status alone.
    /// </summary>
    private static async Task ReadinessAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var probe = services.GetRequiredService<HealthProbe>();
        var ready = probe.IsUp(ServerComponent.ServerWideOffline);
        context.Response.Headers.CacheControl = "no-store";
        var status = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        if (!await MaySeeDetailsAsync(context))
        {
            await Results.Json(new { status = ready ? "Ready" : "NotReady" }, statusCode: status).ExecuteAsync(context);
            return;
        }
        var drain = services.GetRequiredService<DrainCoordinator>();
        var latest = services.GetRequiredService<DependencyHealth>().Latest;
        var body = new
        {
            status = ready ? "Ready" : "NotReady",
            node = services.GetRequiredService<IOptions<GatewayOptions>>().Value.NodeName,
            components = ServerComponents.All.ToDictionary(c => c.ToString(), c => drain.PhaseOf(c).ToString()),
            dependencies = latest is null ? null : new
            {
                status = latest.Report.Status.ToString(),
                checkedAt = latest.CheckedAt,
                checks = latest.Report.Entries.ToDictionary(e => e.Key, e => new
                {
                    status = e.Value.Status.ToString(),
                    description = e.Value.Description,
                    data = e.Value.Data,
                }),
            },
        };
        await Results.Json(body, statusCode: status).ExecuteAsync(context);
    }

    /// <summary>Loopback and <c>Gateway:Telemetry:ScrapeAllowedNetworks</c> by address; anyone else only as an admin (see <see cref="HealthAdminHandler"/>).</summary>
    private static async Task<bool> MaySeeDetailsAsync(HttpContext context)
    {
        var services = context.RequestServices;
        if (services.GetRequiredService<Observability.ScrapeGate>().IsAllowed(context.Connection.RemoteIpAddress))
        {
            return true;
        }
        if (!context.Request.Headers.ContainsKey(HeaderNames.Authorization) && context.Connection.ClientCertificate is null)
        {
            return false;
        }
        var policy = await services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(HealthAdminRequirement.Policy);
        var evaluator = services.GetRequiredService<IPolicyEvaluator>();
        var authentication = await evaluator.AuthenticateAsync(policy!, context);
        return (await evaluator.AuthorizeAsync(policy!, authentication, context, context)).Succeeded;
    }
}
