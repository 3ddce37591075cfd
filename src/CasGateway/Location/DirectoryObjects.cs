using System.Diagnostics.CodeAnalysis;

namespace CasGateway.Location;

/// <summary>A mailbox server: where a database copy can be mounted.</summary>
public sealed record MailboxServer(string Fqdn, string Site, Version Version, Uri BackendUrl)
{
    /// <summary>A client access front end of an older version (2010/2007) that requests for its mailboxes go through.</summary>
    public bool IsFrontEnd { get; init; }

    /// <summary>The front end's external base URL (e.g. <c>https://mail2010.contoso.com</c>), if it has one.</summary>
    public Uri? ExternalUrl { get; init; }

    /// <summary>Where the server speaks IMAP to the gateway, if it does.</summary>
    public System.Net.DnsEndPoint? ImapEndpoint { get; init; }

    /// <summary>Where the server speaks POP3 to the gateway, if it does.</summary>
    public System.Net.DnsEndPoint? PopEndpoint { get; init; }

    /// <summary>Where the server's transport accepts SMTP from the gateway (submission and inbound), if it does.</summary>
    public System.Net.DnsEndPoint? SmtpEndpoint { get; init; }

    /// <summary>Where the server takes Unified Messaging calls (SIP), if it does.</summary>
    public System.Net.DnsEndPoint? UmEndpoint { get; init; }
}

/// <summary>A mailbox database and the server holding its active copy.</summary>
public sealed record MailboxDatabase(string Name, Guid Guid, MailboxServer ActiveServer, IReadOnlyList<MailboxServer> CopyServers);

/// <summary>A mailbox as the directory knows it.</summary>
public sealed record Mailbox(Guid Guid, string PrimarySmtpAddress, IReadOnlyList<string> Aliases, string? DatabaseName, string? DisplayName)
{
    /// <summary>For a mailbox hosted in the cloud (hybrid): its cloud routing address, e.g. <c>alice@contoso.mail.onmicrosoft.com</c>.</summary>
    public string? CloudTargetAddress { get; init; }

    /// <summary>The user's object id in the configured Entra tenant (<c>oid</c> of its bearer tokens), when known.</summary>
    public Guid? ObjectId { get; init; }

    /// <summary>How telephony reaches the mailbox (extension, SIP address, E.164 number), if it is enabled for voice.</summary>
    public VoiceIdentity? Voice { get; init; }
}

/// <summary>A mailbox's telephone identities; each part optional.</summary>
public sealed record VoiceIdentity(string? UmExtension, string? SipAddress, string? E164);


/// <summary>Where a mailbox lives right now: the answer of a <see cref="IMailboxLocator"/>.</summary>
public sealed record MailboxLocation(Mailbox Mailbox, MailboxDatabase? Database)
{
    /// <summary>The mailbox is in the cloud: there is no on-premises database or server.</summary>
    [MemberNotNullWhen(false, nameof(Database), nameof(Server))]
    public bool IsCloud => Database is null;

    public MailboxServer? Server => Database?.ActiveServer;
}
