using System.Collections.Frozen;

namespace CasGateway.Anchoring;

/// <summary>Finds the anchor mailbox of a request with its family's rule.</summary>
public sealed class AnchorResolver
{
    private readonly FrozenDictionary<ProtocolFamily, IAnchorRule> _rules;

    public AnchorResolver(IEnumerable<IAnchorRule> rules)
    {
        var byFamily = rules.ToDictionary(r => r.Family);
        foreach (var family in Enum.GetValues<ProtocolFamily>())
        {
            byFamily.TryAdd(family, new HeaderAnchorRule(family));
        }
        _rules = byFamily.ToFrozenDictionary();
    }

    public AnchorOutcome Resolve(HttpRequest request, ProtocolFamily family) => _rules[family].Resolve(request);
}
