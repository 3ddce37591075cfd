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

    public string? BackendUrl { get; set; }
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
}
