namespace CasGateway.Anchoring;

/// <summary>Finds the anchor mailbox of a request with its family's rule.</summary>
public sealed class AnchorResolver
{
    private readonly IAnchorRule[] _rules;

    public AnchorResolver()
    {
        IAnchorRule[] rules =
        [
            new ExplicitLogonAnchorRule(ProtocolFamily.Owa),
            new ExplicitLogonAnchorRule(ProtocolFamily.Ecp),
            new HeaderAnchorRule(ProtocolFamily.Ews),
            new HeaderAnchorRule(ProtocolFamily.ActiveSync),
            new MapiAnchorRule(),
            new RpcAnchorRule(),
            new AutodiscoverAnchorRule(),
            new OabAnchorRule(),
            new PowerShellAnchorRule(),
        ];
        _rules = new IAnchorRule[Enum.GetValues<ProtocolFamily>().Length];
        foreach (var rule in rules)
        {
            _rules[(int)rule.Family] = rule;
        }
    }

    public AnchorOutcome Resolve(HttpRequest request, ProtocolFamily family) => _rules[(int)family].Resolve(request);
}
