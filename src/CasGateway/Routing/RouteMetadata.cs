using CasGateway.Anchoring;
using Yarp.ReverseProxy.Configuration;

namespace CasGateway.Routing;

/// <summary>The gateway's keys in a YARP route's <c>Metadata</c>.</summary>
public static class RouteMetadata
{
    /// <summary>The protocol family of the route: one of <see cref="ProtocolFamily"/>.</summary>
    public const string Family = "Family";

    /// <summary><c>true</c> forwards the client's Authorization header to the backend (off by default).</summary>
    public const string ForwardClientCredentials = "ForwardClientCredentials";

    /// <summary>The one cluster every family route forwards to: the mailbox servers from the directory.</summary>
    public const string MailboxCluster = "mailbox-servers";

    public static bool TryGetFamily(RouteConfig route, out ProtocolFamily family)
    {
        family = default;
        return route.Metadata?.TryGetValue(Family, out var text) == true && Enum.TryParse(text, ignoreCase: true, out family);
    }

    public static bool ForwardsClientCredentials(RouteConfig route)
        => route.Metadata?.TryGetValue(ForwardClientCredentials, out var text) == true && bool.TryParse(text, out var value) && value;
}
