namespace CasGateway.Anchoring;

/// <summary>One family's routing hints, in order: request → anchor and the hint that gave it.</summary>
public interface IAnchorRule
{
    ProtocolFamily Family { get; }

    AnchorOutcome Resolve(HttpRequest request);
}
