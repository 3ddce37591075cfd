using CasGateway.Anchoring;
using CasGateway.Location;

namespace CasGateway.Routing;

/// <summary>What the gateway decided for one request; read by the forwarding transforms and the protocol log.</summary>
public sealed class RoutingDecision
{
    public ProtocolFamily Family { get; init; }

    public AnchorMailbox? Anchor { get; set; }

    public string HintSource { get; set; } = "";

    public MailboxLocation? Location { get; set; }

    /// <summary>The caller's address and mailbox GUID (the identity handed to the backend).</summary>
    public string? CallerAddress { get; set; }

    public Guid CallerMailboxGuid { get; set; }

    /// <summary>Short code of why the request was refused, if it was.</summary>
    public string? ErrorCode { get; set; }
}
