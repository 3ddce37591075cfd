using System.Security.Claims;
using CasGateway.Anchoring;
using CasGateway.Authentication;

namespace CasGateway.Routing;

/// <summary>
/// Everything about one request that its route depends on, read once from the request without allocating: the
/// family, the parts of the URL a redirect keeps, the routing hint, the caller and EWS server affinity. Real requests
/// and <c>explain</c> build these the same way (<see cref="From"/>), so the planner sees the same facts.
/// </summary>
public readonly record struct RouteFacts(
    ProtocolFamily Family,
    HostString Host,
    PathString PathBase,
    PathString Path,
    QueryString Query,
    AnchorOutcome Hint,
    AnchorMailbox? Mailbox,
    string? CallerAddress,
    Guid CallerMailboxGuid,
    bool Affinity)
{
    /// <summary>EWS notification subscription groups ask to stay on one server with this header set to <c>true</c>.</summary>
    public const string PreferServerAffinityHeader = "X-PreferServerAffinity";

    public static RouteFacts From(HttpRequest request, ProtocolFamily family, AnchorResolver anchors, ClaimsPrincipal user)
        => From(request, family, anchors, GatewayClaims.AddressOf(user), GatewayClaims.MailboxGuidOf(user));

    public static RouteFacts From(HttpRequest request, ProtocolFamily family, AnchorResolver anchors, string? callerAddress, Guid callerMailboxGuid)
    {
        var hint = anchors.Resolve(request, family);
        AnchorMailbox? mailbox = hint.Status switch
        {
            AnchorStatus.Hint => hint.Anchor,
            AnchorStatus.NoHint when AnchorMailbox.TryParse(callerAddress, out var caller) => caller,
            _ => null,
        };
        var affinity = family == ProtocolFamily.Ews
            && request.Headers[PreferServerAffinityHeader].ToString().Equals("true", StringComparison.OrdinalIgnoreCase);
        return new RouteFacts(family, request.Host, request.PathBase, request.Path, request.QueryString, hint, mailbox, callerAddress, callerMailboxGuid, affinity);
    }
}
