namespace CasGateway.BackendAuth;

/// <summary>Header names shared by the gateway and the mailbox backends.</summary>
public static class GatewayHeaders
{
    /// <summary>Default name of the signed identity header.</summary>
    public const string Identity = "X-CasGateway-Identity";

    /// <summary>The target mailbox's primary address (also signed in the identity; a backend refuses a mismatch).</summary>
    public const string TargetMailbox = "X-CasGateway-TargetMailbox";

    /// <summary>Marks a request as sent by a gateway ("1").</summary>
    public const string IsFromCafe = "X-IsFromCafe";

    /// <summary>The gateway node that sent the request.</summary>
    public const string SourceCafeServer = "X-SourceCafeServer";

    /// <summary>The URL the client asked the gateway for.</summary>
    public const string ProxyUri = "msExchProxyUri";

    /// <summary>Backend answer: the database is mounted elsewhere, <c>&lt;db&gt;~&lt;fqdn&gt;~&lt;version&gt;</c>.</summary>
    public const string DbMountedOnServer = "X-DBMountedOnServer";

    /// <summary>Backend answer: it could not route the request (e.g. the mailbox is not here).</summary>
    public const string BackendRoutingError = "X-BEServerRoutingError";

    /// <summary>Backend answer: a description of the routing exception.</summary>
    public const string BackendException = "X-BEServerException";
}
