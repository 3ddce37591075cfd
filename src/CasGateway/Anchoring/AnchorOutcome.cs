namespace CasGateway.Anchoring;

/// <summary>What the anchor stage decided for a request.</summary>
public enum AnchorStatus
{
    /// <summary>A routing hint named the mailbox.</summary>
    Hint,

    /// <summary>No hint: route by the authenticated user.</summary>
    NoHint,

    /// <summary>The request names a server rather than a mailbox (PowerShell <c>TargetServer</c>).</summary>
    Server,

    /// <summary>The request is not tied to a mailbox: any healthy server of the gateway's site serves it.</summary>
    AnyServer,

    /// <summary>A hint was present but unusable: 400.</summary>
    BadRequest,

    /// <summary>The request cannot name a mailbox at all (e.g. an RPC request without a server): 404.</summary>
    NotFound,
}

/// <summary>The result of one family's hint rules.</summary>
public readonly record struct AnchorOutcome(AnchorStatus Status, AnchorMailbox? Anchor, string HintSource, string? Problem, string? Server = null)
{
    public static AnchorOutcome NoHint => new(AnchorStatus.NoHint, null, HintSources.User, null);

    public static AnchorOutcome AnyServer => new(AnchorStatus.AnyServer, null, HintSources.AnyServer, null);

    public static AnchorOutcome FromHint(AnchorMailbox anchor, string source) => new(AnchorStatus.Hint, anchor, source, null);

    public static AnchorOutcome ForServer(string server) => new(AnchorStatus.Server, null, HintSources.TargetServer, null, server);

    public static AnchorOutcome Bad(string problem) => new(AnchorStatus.BadRequest, null, HintSources.Invalid, problem);

    public static AnchorOutcome Missing(string problem) => new(AnchorStatus.NotFound, null, HintSources.None, problem);
}

/// <summary>Names of hint sources as the protocol log records them (Exchange's names where it has one).</summary>
public static class HintSources
{
    public const string User = "User";
    public const string AnyServer = "AnyServer";
    public const string TargetServer = "TargetServer";
    public const string Invalid = "Invalid";
    public const string None = "None";
    public const string AnchorMailboxHeader = "AnchorMailboxHeader";
    public const string ExplicitLogon = "ExplicitLogon";
    public const string ExplicitLogonHeader = "ExplicitLogonHeader";
    public const string MapiMailboxId = "MapiMailboxId";
    public const string MapiSmtpAddress = "MapiSmtpAddress";
    public const string RpcServer = "RpcServer";
    public const string AutodiscoverPath = "AutodiscoverPath";
    public const string AutodiscoverEmail = "AutodiscoverEmail";
    public const string OfflineAddressBook = "OfflineAddressBook";

    /// <summary>Appended when the backend cookie decided the server.</summary>
    public const string ServerCookieSuffix = "-ServerCookie";

    /// <summary>
    /// <c>AnchorMailboxHeader-SMTP</c> for an address, <c>AnchorMailboxHeader-MailboxGuidWithDomain</c> for a GUID.
    /// The strings are interned per combination so the hot path allocates nothing.
    /// </summary>
    public static string For(string where, AnchorMailbox anchor) => (where, anchor.Kind) switch
    {
        (AnchorMailboxHeader, AnchorKind.Smtp) => "AnchorMailboxHeader-SMTP",
        (AnchorMailboxHeader, _) => "AnchorMailboxHeader-MailboxGuidWithDomain",
        (ExplicitLogon, AnchorKind.Smtp) => "ExplicitLogon-SMTP",
        (ExplicitLogon, _) => "ExplicitLogon-MailboxGuidWithDomain",
        (ExplicitLogonHeader, AnchorKind.Smtp) => "ExplicitLogonHeader-SMTP",
        (ExplicitLogonHeader, _) => "ExplicitLogonHeader-MailboxGuidWithDomain",
        (MapiMailboxId, _) => "MailboxGuidWithDomain",
        (MapiSmtpAddress, _) => "MapiSmtpAddress-SMTP",
        (RpcServer, _) => "RpcServer-MailboxGuidWithDomain",
        (AutodiscoverPath, AnchorKind.Smtp) => "AutodiscoverPath-SMTP",
        (AutodiscoverPath, _) => "AutodiscoverPath-MailboxGuidWithDomain",
        (AutodiscoverEmail, _) => "AutodiscoverEmail-SMTP",
        _ => where,
    };
}
