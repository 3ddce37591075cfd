using System.Text.Json;
using System.Text.Json.Nodes;
using CasGateway.Authentication;

namespace CasGateway.TestSupport;

/// <summary>A directory file the test owns: servers, databases, mailboxes; saved atomically so the gateway reloads it.</summary>
public sealed class TestDirectory(string path)
{
    // The lowest iteration count the gateway accepts: real PBKDF2, cheap enough for tests.
    private const int TestIterations = 10_000;
    private static readonly Dictionary<string, string> HashCache = [];

    public string Path { get; } = path;

    /// <summary>IMAP and POP3 backend endpoints (<c>host:port</c>) per server FQDN, for the mail front door.</summary>
    public Dictionary<string, (string? Imap, string? Pop)> MailEndpoints { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>SMTP backend endpoints (<c>host:port</c>) per server FQDN, for the SMTP front door.</summary>
    public Dictionary<string, string> SmtpEndpoints { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Unified Messaging (SIP) endpoints (<c>host:port</c>) per server FQDN, for the call router.</summary>
    public Dictionary<string, string> UmEndpoints { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Telephone identities per mailbox address (each part optional), for the call router.</summary>
    public Dictionary<string, (string? UmExtension, string? SipAddress, string? E164)> Voice { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<(string Fqdn, string Site, string Version, Uri BackendUrl)> Servers { get; } = [];

    public List<(string Name, Guid Guid, List<string> Copies, string Active)> Databases { get; } = [];

    public List<TestMailbox> Mailboxes { get; } = [];

    /// <summary>Servers that are legacy client access front ends, with their external base URL if any.</summary>
    public Dictionary<string, Uri?> FrontEnds { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Cloud mailboxes: primary address → cloud target address.</summary>
    public Dictionary<string, string> CloudMailboxes { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Offline address books: GUID → primary address of the mailbox serving it.</summary>
    public Dictionary<Guid, string> OfflineAddressBooks { get; } = [];

    public static string PasswordOf(string address) => "pw-" + address.Split('@')[0];

    /// <summary>The object id of a mailbox's owner in the test tenant (what <see cref="OidcServer"/> puts in <c>oid</c>).</summary>
    public static Guid ObjectIdOf(string address)
        => new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes("oid:" + address.ToLowerInvariant())));

    public static string HashFor(string password)
    {
        lock (HashCache)
        {
            if (!HashCache.TryGetValue(password, out var hash))
            {
                hash = PasswordHash.Create(password, TestIterations);
                HashCache[password] = hash;
            }
            return hash;
        }
    }

    public TestMailbox AddMailbox(string address, string database, bool withPassword = true, params string[] aliases)
    {
        var mailbox = new TestMailbox(Guid.NewGuid(), address, [.. aliases], database, withPassword ? HashFor(PasswordOf(address)) : null);
        Mailboxes.Add(mailbox);
        return mailbox;
    }

    public TestMailbox Mailbox(string address) => Mailboxes.Single(m => m.Address == address);

    /// <summary>Makes <paramref name="server"/> hold the active copy of <paramref name="database"/>.</summary>
    public void Activate(string database, string server)
    {
        lock (Mailboxes)
        {
            var index = Databases.FindIndex(d => d.Name == database);
            Databases[index] = Databases[index] with { Active = server };
        }
    }

    /// <summary>What an Exchange backend would say: <c>db~server~version</c> when the mailbox's database is active elsewhere.</summary>
    public string? MountedElsewhere(string server, string mailboxAddress)
    {
        lock (Mailboxes)
        {
            var mailbox = Mailboxes.FirstOrDefault(m => string.Equals(m.Address, mailboxAddress, StringComparison.OrdinalIgnoreCase));
            if (mailbox is null)
            {
                return null;
            }
            var database = Databases.Single(d => d.Name == mailbox.Database);
            if (string.Equals(database.Active, server, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            var active = Servers.Single(s => s.Fqdn == database.Active);
            return $"{database.Guid}~{active.Fqdn}~{active.Version}";
        }
    }

    public void Save() => SaveText(WithMailEndpoints(ToJson()).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Writes raw text (e.g. a malformed file) the way an editor would: to a temp file, then renamed over.</summary>
    public void SaveText(string text)
    {
        var temp = Path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, Path, overwrite: true);
    }

    private JsonObject WithMailEndpoints(JsonObject directory)
    {
        foreach (var server in directory["servers"]!.AsArray().Select(s => s!.AsObject()))
        {
            if (MailEndpoints.TryGetValue((string)server["fqdn"]!, out var endpoints))
            {
                if (endpoints.Imap is not null)
                {
                    server["imapEndpoint"] = endpoints.Imap;
                }
                if (endpoints.Pop is not null)
                {
                    server["popEndpoint"] = endpoints.Pop;
                }
            }
            if (SmtpEndpoints.TryGetValue((string)server["fqdn"]!, out var smtp))
            {
                server["smtpEndpoint"] = smtp;
            }
            if (UmEndpoints.TryGetValue((string)server["fqdn"]!, out var um))
            {
                server["umEndpoint"] = um;
            }
        }
        foreach (var mailbox in directory["mailboxes"]!.AsArray().Select(m => m!.AsObject()))
        {
            if (Voice.TryGetValue((string)mailbox["primarySmtpAddress"]!, out var voice))
            {
                mailbox["umExtension"] = voice.UmExtension;
                mailbox["sipAddress"] = voice.SipAddress;
                mailbox["e164"] = voice.E164;
            }
        }
        return directory;
    }

    private JsonObject ToJson() => new()
    {
        ["sites"] = new JsonArray([.. Servers.Select(s => s.Site).Distinct().Select(s => (JsonNode)new JsonObject { ["name"] = s })]),
        ["servers"] = new JsonArray([.. Servers.Select(s =>
        {
            var node = new JsonObject
            {
                ["fqdn"] = s.Fqdn,
                ["site"] = s.Site,
                ["version"] = s.Version,
                ["backendUrl"] = s.BackendUrl.ToString(),
            };
            if (FrontEnds.TryGetValue(s.Fqdn, out var external))
            {
                node["frontEnd"] = true;
                if (external is not null)
                {
                    node["externalUrl"] = external.ToString();
                }
            }
            return (JsonNode)node;
        })]),
        ["databases"] = new JsonArray([.. Databases.Select(d => (JsonNode)new JsonObject
        {
            ["name"] = d.Name,
            ["guid"] = d.Guid,
            ["copies"] = new JsonArray([.. d.Copies.Select(c => (JsonNode)new JsonObject { ["server"] = c, ["active"] = c == d.Active })]),
        })]),
        ["mailboxes"] = new JsonArray([.. Mailboxes.Select(m =>
        {
            var node = new JsonObject
            {
                ["guid"] = m.Guid,
                ["primarySmtpAddress"] = m.Address,
                ["aliases"] = new JsonArray([.. m.Aliases.Select(a => (JsonNode)a)]),
                ["objectId"] = ObjectIdOf(m.Address),
            };
            if (CloudMailboxes.TryGetValue(m.Address, out var cloud))
            {
                node["cloudTargetAddress"] = cloud;
            }
            else
            {
                node["database"] = m.Database;
            }
            if (m.PasswordHash is not null)
            {
                node["passwordHash"] = m.PasswordHash;
            }
            return (JsonNode)node;
        })]),
        ["offlineAddressBooks"] = new JsonArray([.. OfflineAddressBooks.Select(o => (JsonNode)new JsonObject { ["guid"] = o.Key, ["mailbox"] = o.Value })]),
    };
}

public sealed record TestMailbox(Guid Guid, string Address, List<string> Aliases, string Database, string? PasswordHash)
{
    public string Password => TestDirectory.PasswordOf(Address);
}
