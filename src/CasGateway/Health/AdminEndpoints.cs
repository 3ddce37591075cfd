using CasGateway.Authentication;
using CasGateway.Configuration;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>What an admin sends to change a component: <c>{ "state": "Draining", "requester": "Maintenance", "reason": "patching" }</c>.</summary>
public sealed record ComponentChange(string? State, string? Requester, string? Reason);

/// <summary><c>GET /admin/components</c> and <c>PUT /admin/components/{component}</c>, for admins only.</summary>
public static class AdminEndpoints
{
    public const string Prefix = "/admin/components";
    private const int MaxReasonLength = 500;

    public static void Map(WebApplication app)
    {
        var group = app.MapGroup(Prefix)
            .RequireAuthorization(HealthAdminRequirement.Policy)
            .WithMetadata(new HealthEndpointMetadata(OnManagementPort: false));
        group.MapGet("", (HttpContext context) => Results.Json(Overview(context.RequestServices)));
        group.MapPut("/{component}", Set);
    }

    /// <summary>Adds the admin policy: the same authentication schemes as the mailbox routes, and the admin requirement.</summary>
    public static void AddPolicy(AuthorizationOptions options)
    {
        var schemes = options.GetPolicy(AuthenticationStage.MailboxPolicy)?.AuthenticationSchemes ?? [];
        options.AddPolicy(HealthAdminRequirement.Policy, policy => policy
            .AddAuthenticationSchemes([.. schemes])
            .AddRequirements(new HealthAdminRequirement()));
    }

    private static IResult Set(string component, ComponentChange change, HttpContext context)
    {
        var services = context.RequestServices;
        if (!ServerComponents.TryParse(component, out var target))
        {
            return Results.Json(new { error = $"Unknown component '{component}'; one of {string.Join(", ", ServerComponents.All)}." }, statusCode: StatusCodes.Status404NotFound);
        }
        if (!ServerComponents.TryParseName<ComponentState>(change.State, out var state))
        {
            return BadRequest($"state must be one of {string.Join(", ", Enum.GetNames<ComponentState>())}.");
        }
        if (!ServerComponents.TryParseName<StateRequester>(change.Requester, out var requester))
        {
            return BadRequest($"requester must be one of {string.Join(", ", Enum.GetNames<StateRequester>())}.");
        }
        var reason = change.Reason?.Trim();
        if (string.IsNullOrEmpty(reason) || reason.Length > MaxReasonLength || reason.Any(char.IsControl))
        {
            return BadRequest($"reason is required: 1-{MaxReasonLength} characters, no control characters.");
        }
        var admin = HealthAdminHandler.AdminName(context, services.GetRequiredService<IOptions<HealthOptions>>().Value) ?? "(unknown)";
        try
        {
            services.GetRequiredService<ComponentStateStore>().Set(target.Value, state, requester, reason, admin);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Results.Json(new { error = "The state file could not be written; nothing changed: " + ex.Message }, statusCode: StatusCodes.Status500InternalServerError);
        }
        return Results.Json(View(services, target.Value));
    }

    private static IResult BadRequest(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);

    private static object Overview(IServiceProvider services)
    {
        var store = services.GetRequiredService<ComponentStateStore>();
        var drain = services.GetRequiredService<DrainCoordinator>();
        return new
        {
            node = services.GetRequiredService<IOptions<GatewayOptions>>().Value.NodeName,
            stateFile = store.StateFilePath,
            drainGracePeriod = drain.GracePeriod,
            components = ServerComponents.All.Select(c => View(services, c)).ToList(),
        };
    }

    private static object View(IServiceProvider services, ServerComponent component)
    {
        var store = services.GetRequiredService<ComponentStateStore>();
        var drain = services.GetRequiredService<DrainCoordinator>();
        return new
        {
            component = component.ToString(),
            state = store.EffectiveState(component).ToString(),
            ownState = store.OwnState(component).ToString(),
            phase = drain.PhaseOf(component).ToString(),
            outOfServiceSince = drain.OutOfServiceSince(component),
            holds = store.HoldsOf(component).OrderBy(h => h.Requester).Select(h => new
            {
                requester = h.Requester.ToString(),
                state = h.State.ToString(),
                reason = h.Reason,
                changedBy = h.ChangedBy,
                changedAt = h.ChangedAt,
                persistent = h.Persistent,
            }).ToList(),
        };
    }
}
