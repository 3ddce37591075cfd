using CasGateway.BackendAuth;

namespace CasGateway.Forwarding;

/// <summary>Headers only the gateway may send to a backend; any copy a client sends is stripped and logged.</summary>
public static class InternalHeaders
{
    public const string TargetMailbox = "X-CasGateway-TargetMailbox";

    private static readonly string[] Exact =
    [
        GatewayHeaders.IsFromCafe,
        GatewayHeaders.SourceCafeServer,
        GatewayHeaders.ProxyUri,
        GatewayHeaders.DbMountedOnServer,
        "X-CommonAccessToken",
    ];

    private static readonly string[] Prefixes = ["X-CasGateway-", "X-Backend", "X-BEServer"];

    public static bool IsInternal(string name, string identityHeader)
    {
        if (name.Equals(identityHeader, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        foreach (var exact in Exact)
        {
            if (name.Equals(exact, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        foreach (var prefix in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
