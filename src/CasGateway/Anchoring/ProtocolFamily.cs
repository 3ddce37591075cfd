namespace CasGateway.Anchoring;

/// <summary>The protocol families the gateway serves; each is a route group in appsettings (metadata <c>Family</c>).</summary>
public enum ProtocolFamily
{
    Owa,
    Ecp,
    Ews,
    ActiveSync,
    Mapi,
    Rpc,
    Autodiscover,
    Oab,
    PowerShell,
}
