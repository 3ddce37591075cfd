using System.Text.Json.Serialization;

namespace CasGateway.Location;

/// <summary>The directory file as written on disk (JSON). See docs/directory.md.</summary>
internal sealed class DirectoryDocument
{
    [JsonPropertyName("$schema")]
    public string? Schema { get; set; }

    public List<SiteEntry> Sites { get; set; } = [];

    public List<ServerEntry> Servers { get; set; } = [];

    public List<DatabaseEntry> Databases { get; set; } = [];

    public List<MailboxEntry> Mailboxes { get; set; } = [];

    public List<OfflineAddressBookEntry> OfflineAddressBooks { get; set; } = [];
}

internal sealed class SiteEntry
{
    public string? Name { get; set; }
}

internal sealed class ServerEntry
{
    public string? Fqdn { get; set; }

    public string? Site { get; set; }

    public string? Version { get; set; }

    /// <summary>IMAP backend endpoint, <c>host:port</c>; absent when the server does not serve IMAP.</summary>
    public string? ImapEndpoint { get; set; }

    /// <summary>POP3 backend endpoint, <c>host:port</c>; absent when the server does not serve POP3.</summary>
    public string? PopEndpoint { get; set; }

    /// <summary>SMTP backend endpoint, <c>host:port</c>; absent when the server takes no SMTP from the gateway.</summary>
    public string? SmtpEndpoint { get; set; }

    /// <summary>Unified Messaging (SIP) endpoint calls are redirected to, <c>host:port</c>; absent when the server takes no calls.</summary>
    public string? UmEndpoint { get; set; }

    public string? BackendUrl { get; set; }

    /// <summary>True for a client access front end of an older version (2010/2007).</summary>
    public bool FrontEnd { get; set; }

    /// <summary>A front end's external base URL, used for redirects.</summary>
    public string? ExternalUrl { get; set; }
}

internal sealed class DatabaseEntry
{
    public string? Name { get; set; }

    public Guid Guid { get; set; }

    public List<DatabaseCopyEntry> Copies { get; set; } = [];
}

internal sealed class DatabaseCopyEntry
{
    public string? Server { get; set; }

    public bool Active { get; set; }
}

internal sealed class MailboxEntry
{
    public Guid Guid { get; set; }

    public string? PrimarySmtpAddress { get; set; }

    public List<string> Aliases { get; set; } = [];

    public string? Database { get; set; }

    public string? DisplayName { get; set; }

    public string? PasswordHash { get; set; }

    /// <summary>Hybrid: the mailbox lives in the cloud under this routing address (then no database).</summary>
    public string? CloudTargetAddress { get; set; }

    /// <summary>Optional: the owner's object id in the configured tenant (the <c>oid</c> claim of its bearer tokens).</summary>
    public Guid? ObjectId { get; set; }

    /// <summary>The mailbox's Unified Messaging extension (digits), for calls to it.</summary>
    public string? UmExtension { get; set; }

    /// <summary>The mailbox's SIP address (<c>user@domain</c>, with or without <c>sip:</c>).</summary>
    public string? SipAddress { get; set; }

    /// <summary>The mailbox's E.164 phone number (<c>+</c> and digits).</summary>
    public string? E164 { get; set; }
}

internal sealed class OfflineAddressBookEntry
{
    public Guid Guid { get; set; }

    public string? Name { get; set; }

    /// <summary>Primary address of the mailbox that generates and serves this address book.</summary>
    public string? Mailbox { get; set; }
}
