namespace CasGateway.Anchoring;

/// <summary>What the anchor stage decided for a request.</summary>
public enum AnchorStatus
{
    /// <summary>A routing hint named the mailbox.</summary>
    Hint,

    /// <summary>No hint: route by the authenticated user.</summary>
    NoHint,

    /// <summary>A hint was present but unusable: 400.</summary>
    BadRequest,

    /// <summary>The request cannot name a mailbox at all (e.g. an RPC request without a server): 404.</summary>
    NotFound,
}

/// <summary>The result of one family's hint rules.</summary>
public readonly record struct AnchorOutcome(AnchorStatus Status, AnchorMailbox? Anchor, string HintSource, string? Problem)
{
    public static AnchorOutcome NoHint => new(AnchorStatus.NoHint, null, "User", null);

    public static AnchorOutcome FromHint(AnchorMailbox anchor, string source) => new(AnchorStatus.Hint, anchor, source, null);

    public static AnchorOutcome Bad(string problem) => new(AnchorStatus.BadRequest, null, "Invalid", problem);

    public static AnchorOutcome Missing(string problem) => new(AnchorStatus.NotFound, null, "None", problem);

    /// <summary>Hint source name for an anchor taken from <paramref name="where"/>, e.g. <c>AnchorMailboxHeader-SMTP</c>.</summary>
    public static string SourceName(string where, AnchorMailbox anchor)
        => anchor.Kind == AnchorKind.MailboxGuid ? where + "-MailboxGuidWithDomain" : where + "-SMTP";
}
