namespace CasGateway.Location;

/// <summary>A mailbox server: where a database copy can be mounted.</summary>
public sealed record MailboxServer(string Fqdn, string Site, Version Version, Uri BackendUrl)
{
    /// <summary>Where the server speaks IMAP to the gateway, if it does.</summary>
    public System.Net.DnsEndPoint? ImapEndpoint { get; init; }

    /// <summary>Where the server speaks POP3 to the gateway, if it does.</summary>
    public System.Net.DnsEndPoint? PopEndpoint { get; init; }
}

/// <summary>A mailbox database and the server holding its active copy.</summary>
public sealed record MailboxDatabase(string Name, Guid Guid, MailboxServer ActiveServer, IReadOnlyList<MailboxServer> CopyServers);

/// <summary>A mailbox as the directory knows it.</summary>
public sealed record Mailbox(Guid Guid, string PrimarySmtpAddress, IReadOnlyList<string> Aliases, string DatabaseName, string? DisplayName);

/// <summary>Where a mailbox lives right now: the answer of a <see cref="IMailboxLocator"/>.</summary>
public sealed record MailboxLocation(Mailbox Mailbox, MailboxDatabase Database)
{
    public MailboxServer Server => Database.ActiveServer;
}
