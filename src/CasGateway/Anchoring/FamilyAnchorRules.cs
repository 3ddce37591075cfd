namespace CasGateway.Anchoring;

/// <summary>EWS and ActiveSync: <c>X-AnchorMailbox</c>, else the authenticated user.</summary>
public sealed class HeaderAnchorRule(ProtocolFamily family) : IAnchorRule
{
    public ProtocolFamily Family => family;

    public AnchorOutcome Resolve(HttpRequest request)
        => AnchorHints.FromHeader(request, AnchorHints.AnchorMailboxHeader, HintSources.AnchorMailboxHeader) ?? AnchorOutcome.NoHint;
}

/// <summary>
/// OWA and ECP: explicit logon <c>/owa/&lt;smtp&gt;/…</c> (OWA also <c>X-OWA-ExplicitLogonUser</c>), then
/// <c>X-AnchorMailbox</c>, then the user. A first path segment with an <c>@</c> is an explicit logon.
/// </summary>
public sealed class ExplicitLogonAnchorRule(ProtocolFamily family) : IAnchorRule
{
    public const string ExplicitLogonHeader = "X-OWA-ExplicitLogonUser";

    public ProtocolFamily Family => family;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        var segment = AnchorHints.Segment(request.Path.Value ?? "", 1);
        if (segment.Span.Contains('@'))
        {
            return AnchorHints.Parse(segment, HintSources.ExplicitLogon, "The explicit logon mailbox in the path");
        }
        if (family == ProtocolFamily.Owa && AnchorHints.FromHeader(request, ExplicitLogonHeader, HintSources.ExplicitLogonHeader) is { } header)
        {
            return header;
        }
        return AnchorHints.FromHeader(request, AnchorHints.AnchorMailboxHeader, HintSources.AnchorMailboxHeader) ?? AnchorOutcome.NoHint;
    }
}

/// <summary>
/// MAPI over HTTP: <c>mailboxId=&lt;guid&gt;@&lt;domain&gt;</c>, else <c>smtpAddress=</c>, else
/// <c>useMailboxOfAuthenticatedUser=true</c>; the user for GET only — any other method without a hint is a 400.
/// </summary>
public sealed class MapiAnchorRule : IAnchorRule
{
    public ProtocolFamily Family => ProtocolFamily.Mapi;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        var query = request.QueryString.Value;
        if (AnchorHints.TryGetQueryValue(query, "mailboxId", out var id, out var escaped))
        {
            return AnchorHints.ParseQueryValue(id, escaped, HintSources.MapiMailboxId, "mailboxId");
        }
        if (AnchorHints.TryGetQueryValue(query, "smtpAddress", out var smtp, out escaped))
        {
            return AnchorHints.ParseQueryValue(smtp, escaped, HintSources.MapiSmtpAddress, "smtpAddress");
        }
        if (AnchorHints.TryGetQueryValue(query, "useMailboxOfAuthenticatedUser", out var self, out _)
            && self.Span.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return AnchorOutcome.NoHint;
        }
        return HttpMethods.IsGet(request.Method)
            ? AnchorOutcome.NoHint
            : AnchorOutcome.Bad("MAPI requests other than GET must name the mailbox (mailboxId=, smtpAddress= or useMailboxOfAuthenticatedUser=true).");
    }
}

/// <summary>RPC over HTTP: the query names the "server" as <c>&lt;guid&gt;@&lt;domain&gt;:6001</c> (or 6002, 6004).</summary>
public sealed class RpcAnchorRule : IAnchorRule
{
    public ProtocolFamily Family => ProtocolFamily.Rpc;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        var query = request.QueryString.Value;
        if (string.IsNullOrEmpty(query) || query.Length <= 1)
        {
            return AnchorOutcome.Missing("RPC over HTTP requests must name the server (?<mailbox guid>@<domain>:6001).");
        }
        var value = query.AsMemory(1);
        var colon = value.Span.LastIndexOf(':');
        if (colon < 0 || value.Span[(colon + 1)..] is not ("6001" or "6002" or "6004"))
        {
            return AnchorOutcome.Bad("The RPC server must be <mailbox guid>@<domain>:<6001|6002|6004>.");
        }
        var outcome = AnchorHints.Parse(value[..colon], HintSources.RpcServer, "The RPC server");
        return outcome.Anchor is { Kind: AnchorKind.Smtp } ? AnchorOutcome.Bad("The RPC server must be a mailbox GUID, not an address.") : outcome;
    }
}

/// <summary>
/// Autodiscover: <c>X-AnchorMailbox</c>; <c>/autodiscover/&lt;smtp&gt;/…</c>; <c>autodiscover.json?Email=</c>;
/// <c>/autodiscover/autodiscover.json/v1.0/&lt;smtp&gt;</c>; else the user (POX <c>autodiscover.xml</c>).
/// </summary>
public sealed class AutodiscoverAnchorRule : IAnchorRule
{
    public ProtocolFamily Family => ProtocolFamily.Autodiscover;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        if (AnchorHints.FromHeader(request, AnchorHints.AnchorMailboxHeader, HintSources.AnchorMailboxHeader) is { } header)
        {
            return header;
        }
        var path = request.Path.Value ?? "";
        var first = AnchorHints.Segment(path, 1);
        if (first.Span.Contains('@'))
        {
            return AnchorHints.Parse(first, HintSources.AutodiscoverPath, "The mailbox in the Autodiscover path");
        }
        if (first.Span.Equals("autodiscover.json", StringComparison.OrdinalIgnoreCase))
        {
            var last = AnchorHints.Segment(path, 3);
            if (AnchorHints.Segment(path, 2).Span.Equals("v1.0", StringComparison.OrdinalIgnoreCase) && !last.IsEmpty)
            {
                return AnchorHints.Parse(last, HintSources.AutodiscoverPath, "The mailbox in the Autodiscover path");
            }
            if (AnchorHints.TryGetQueryValue(request.QueryString.Value, "Email", out var email, out var escaped))
            {
                return AnchorHints.ParseQueryValue(email, escaped, HintSources.AutodiscoverEmail, "Email");
            }
        }
        return AnchorOutcome.NoHint;
    }
}

/// <summary>OAB: <c>/OAB/&lt;oab guid&gt;/…</c> → the mailbox that serves that address book; else the user.</summary>
public sealed class OabAnchorRule : IAnchorRule
{
    public ProtocolFamily Family => ProtocolFamily.Oab;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        var segment = AnchorHints.Segment(request.Path.Value ?? "", 1);
        if (segment.IsEmpty)
        {
            return AnchorOutcome.NoHint;
        }
        return Guid.TryParse(segment.Span, out var oab)
            ? AnchorOutcome.FromHint(AnchorMailbox.ForOfflineAddressBook(segment, oab), HintSources.OfflineAddressBook)
            : AnchorOutcome.Bad("The OAB path must start with the address book's GUID.");
    }
}

/// <summary>Remote PowerShell: <c>?TargetServer=</c> names a server; otherwise any healthy server of this site.</summary>
public sealed class PowerShellAnchorRule : IAnchorRule
{
    public ProtocolFamily Family => ProtocolFamily.PowerShell;

    public AnchorOutcome Resolve(HttpRequest request)
    {
        if (!AnchorHints.TryGetQueryValue(request.QueryString.Value, "TargetServer", out var server, out var escaped))
        {
            return AnchorOutcome.AnyServer;
        }
        var name = escaped ? Uri.UnescapeDataString(server.ToString()) : server.ToString();
        return Uri.CheckHostName(name) == UriHostNameType.Dns && name.Length <= 253
            ? AnchorOutcome.ForServer(name)
            : AnchorOutcome.Bad("TargetServer is not a server name.");
    }
}
