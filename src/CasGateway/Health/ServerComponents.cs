using System.Diagnostics.CodeAnalysis;
using CasGateway.Anchoring;

namespace CasGateway.Health;

/// <summary>
/// What can be taken out of service, as Exchange's server components: the whole node (<see cref="ServerWideOffline"/>)
/// and each protocol. Exchange's names with a <c>Proxy</c> suffix (<c>OwaProxy</c>) are accepted too.
/// </summary>
public enum ServerComponent
{
    ServerWideOffline,
    Owa,
    Ecp,
    Ews,
    ActiveSync,
    Mapi,
    Rpc,
    Autodiscover,
    Oab,
    PowerShell,
    Imap,
    Pop,

    /// <summary>The SMTP front door (submission and inbound); Exchange's <c>FrontendTransport</c> is accepted as its name.</summary>
    Smtp,

    /// <summary>The Unified Messaging call router (SIP redirector).</summary>
    UmCallRouter,
}

/// <summary>A component's state as one requester sees it; the effective state is the worst of them.</summary>
public enum ComponentState
{
    Active,
    Draining,
    Inactive,
}

/// <summary>Who asked for a state: several can hold a component down at once, each releases only its own hold.</summary>
public enum StateRequester
{
    Maintenance,
    HealthApi,
    Functional,
    Deployment,
    Sidelined,
}

public static class ServerComponents
{
    public static readonly ServerComponent[] All = Enum.GetValues<ServerComponent>();

    public static ServerComponent Of(ProtocolFamily family) => family switch
    {
        ProtocolFamily.Owa => ServerComponent.Owa,
        ProtocolFamily.Ecp => ServerComponent.Ecp,
        ProtocolFamily.Ews => ServerComponent.Ews,
        ProtocolFamily.ActiveSync => ServerComponent.ActiveSync,
        ProtocolFamily.Mapi => ServerComponent.Mapi,
        ProtocolFamily.Rpc => ServerComponent.Rpc,
        ProtocolFamily.Autodiscover => ServerComponent.Autodiscover,
        ProtocolFamily.Oab => ServerComponent.Oab,
        ProtocolFamily.PowerShell => ServerComponent.PowerShell,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    public static bool TryParse(string? text, [NotNullWhen(true)] out ServerComponent? component)
    {
        component = null;
        var name = text is not null && text.EndsWith("Proxy", StringComparison.OrdinalIgnoreCase) ? text[..^5] : text;
        if (string.Equals(name, "FrontendTransport", StringComparison.OrdinalIgnoreCase))
        {
            name = nameof(ServerComponent.Smtp);
        }
        if (TryParseName<ServerComponent>(name, out var parsed))
        {
            component = parsed;
            return true;
        }
        return false;
    }

    /// <summary>Parses a state or requester name (names only, never numbers).</summary>
    public static bool TryParseName<T>(string? text, out T value) where T : struct, Enum
    {
        value = default;
        return !string.IsNullOrWhiteSpace(text) && !char.IsDigit(text[0]) && text[0] != '-'
            && Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value);
    }
}
