namespace CasGateway.Anchoring;

/// <summary>Families whose only hint is <c>X-AnchorMailbox</c> (then the authenticated user).</summary>
public sealed class HeaderAnchorRule(ProtocolFamily family) : IAnchorRule
{
    public ProtocolFamily Family => family;

    public AnchorOutcome Resolve(HttpRequest request)
        => AnchorHints.FromHeader(request, AnchorHints.AnchorMailboxHeader, "AnchorMailboxHeader") ?? AnchorOutcome.NoHint;
}
