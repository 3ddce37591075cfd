using System.Globalization;
using System.Net;
using System.Text.Json;
using CasGateway.Anchoring;

namespace CasGateway.Location;

/// <summary>The directory file could not be used; the message names the file, the position and the problem.</summary>
public sealed class DirectoryLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Parses and checks a directory file into a <see cref="DirectorySnapshot"/>.</summary>
internal static class DirectoryParser
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    public static DirectorySnapshot Parse(string path, ReadOnlySpan<byte> json)
    {
        DirectoryDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<DirectoryDocument>(json, Options);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line
                ? string.Create(CultureInfo.InvariantCulture, $"line {line + 1}, column {ex.BytePositionInLine + 1}, at {ex.Path}")
                : "at " + ex.Path;
            throw new DirectoryLoadException($"Directory file '{path}' is not valid: {where}: {FirstSentence(ex.Message)}", ex);
        }
        if (document is null)
        {
            throw new DirectoryLoadException($"Directory file '{path}' is empty (expected a JSON object).");
        }
        var errors = new List<string>();
        var snapshot = Build(document, errors);
        if (errors.Count > 0)
        {
            throw new DirectoryLoadException(
                $"Directory file '{path}' has {errors.Count} problem(s):" + string.Concat(errors.Select(e => Environment.NewLine + "  " + e)));
        }
        return snapshot;
    }

    /// <summary>The document itself once it passed every check of <see cref="Parse"/>, to copy it into another store.</summary>
    /// <exception cref="DirectoryLoadException">The file has problems; every one is listed.</exception>
    public static DirectoryDocument ParseDocument(string path, ReadOnlySpan<byte> json)
    {
        Parse(path, json);
        return JsonSerializer.Deserialize<DirectoryDocument>(json, Options)!;
    }

    private static DirectorySnapshot Build(DirectoryDocument document, List<string> errors)
    {
        var sites = new List<string>();
        for (var i = 0; i < document.Sites.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(document.Sites[i].Name))
            {
                errors.Add($"$.sites[{i}].name: required");
                continue;
            }
            sites.Add(document.Sites[i].Name!);
        }

        var servers = new Dictionary<string, MailboxServer>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < document.Servers.Count; i++)
        {
            var entry = document.Servers[i];
            var at = $"$.servers[{i}]";
            if (string.IsNullOrWhiteSpace(entry.Fqdn))
            {
                errors.Add($"{at}.fqdn: required");
                continue;
            }
            if (servers.ContainsKey(entry.Fqdn))
            {
                errors.Add($"{at}.fqdn: '{entry.Fqdn}' is listed twice");
                continue;
            }
            if (entry.Site is null || !sites.Contains(entry.Site, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{at}.site: '{entry.Site}' is not one of the sites ({string.Join(", ", sites)})");
            }
            if (!Version.TryParse(entry.Version, out var version))
            {
                errors.Add($"{at}.version: '{entry.Version}' is not a version such as 15.2.1544.4");
            }
            var imap = ParseEndpoint(entry.ImapEndpoint, $"{at}.imapEndpoint", errors);
            var pop = ParseEndpoint(entry.PopEndpoint, $"{at}.popEndpoint", errors);
            var smtp = ParseEndpoint(entry.SmtpEndpoint, $"{at}.smtpEndpoint", errors);
            var um = ParseEndpoint(entry.UmEndpoint, $"{at}.umEndpoint", errors);
            if (!Uri.TryCreate(entry.BackendUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                errors.Add($"{at}.backendUrl: '{entry.BackendUrl}' is not an absolute http(s) URL");
            }
            Uri? external = null;
            if (entry.ExternalUrl is not null && (!Uri.TryCreate(entry.ExternalUrl, UriKind.Absolute, out external) || external.Scheme != "https"))
            {
                errors.Add($"{at}.externalUrl: '{entry.ExternalUrl}' is not an absolute https URL");
            }
            if (version is not null && url is not null)
            {
                servers[entry.Fqdn] = new MailboxServer(entry.Fqdn, entry.Site ?? "", version, url) { IsFrontEnd = entry.FrontEnd, ExternalUrl = external, ImapEndpoint = imap, PopEndpoint = pop, SmtpEndpoint = smtp, UmEndpoint = um };
            }
        }

        var databases = new Dictionary<string, MailboxDatabase>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < document.Databases.Count; i++)
        {
            var entry = document.Databases[i];
            var at = $"$.databases[{i}]";
            if (string.IsNullOrWhiteSpace(entry.Name))
            {
                errors.Add($"{at}.name: required");
                continue;
            }
            if (databases.ContainsKey(entry.Name))
            {
                errors.Add($"{at}.name: '{entry.Name}' is listed twice");
                continue;
            }
            var copies = new List<MailboxServer>();
            MailboxServer? active = null;
            var activeCount = 0;
            for (var c = 0; c < entry.Copies.Count; c++)
            {
                var copy = entry.Copies[c];
                if (copy.Server is null || !servers.TryGetValue(copy.Server, out var server))
                {
                    errors.Add($"{at}.copies[{c}].server: '{copy.Server}' is not one of the servers");
                    continue;
                }
                copies.Add(server);
                if (copy.Active)
                {
                    active = server;
                    activeCount++;
                }
            }
            if (activeCount != 1)
            {
                errors.Add($"{at}.copies: exactly one copy must be active, found {activeCount}");
                continue;
            }
            databases[entry.Name] = new MailboxDatabase(entry.Name, entry.Guid, active!, copies);
        }

        var mailboxes = new List<Mailbox>();
        var hashes = new List<KeyValuePair<Guid, string>>();
        var guids = new HashSet<Guid>();
        var addresses = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var objectIds = new HashSet<Guid>();
        var voiceKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < document.Mailboxes.Count; i++)
        {
            var entry = document.Mailboxes[i];
            var at = $"$.mailboxes[{i}]";
            var ok = true;
            if (entry.Guid == Guid.Empty || !guids.Add(entry.Guid))
            {
                errors.Add($"{at}.guid: '{entry.Guid}' is empty or used twice");
                ok = false;
            }
            foreach (var (address, key) in entry.Aliases.Select((a, n) => ((string?)a, $"aliases[{n}]")).Prepend((entry.PrimarySmtpAddress, "primarySmtpAddress")))
            {
                if (address is null || !AnchorMailbox.TryParse(address, out var parsed) || parsed.Value.Kind != AnchorKind.Smtp)
                {
                    errors.Add($"{at}.{key}: '{address}' is not an SMTP address");
                    ok = false;
                }
                else if (!addresses.Add(address))
                {
                    errors.Add($"{at}.{key}: '{address}' belongs to another mailbox too");
                    ok = false;
                }
            }
            if (entry.CloudTargetAddress is not null)
            {
                if (entry.Database is not null || !AnchorMailbox.TryParse(entry.CloudTargetAddress, out _))
                {
                    errors.Add($"{at}.cloudTargetAddress: a cloud mailbox needs a valid address and no database");
                    ok = false;
                }
            }
            else if (entry.Database is null || !databases.ContainsKey(entry.Database))
            {
                errors.Add($"{at}.database: '{entry.Database}' is not one of the databases");
                ok = false;
            }
            if (entry.ObjectId is { } objectId && (objectId == Guid.Empty || !objectIds.Add(objectId)))
            {
                errors.Add($"{at}.objectId: '{objectId}' is empty or used twice");
                ok = false;
            }
            if (entry.PasswordHash is not null && !Authentication.PasswordHash.IsWellFormed(entry.PasswordHash))
            {
                errors.Add($"{at}.passwordHash: not a hash made by 'CasGateway hash-password'");
                ok = false;
            }
            var voice = ParseVoice(entry, at, voiceKeys, errors);
            if (!ok || voice is { Ok: false })
            {
                continue;
            }
            mailboxes.Add(new Mailbox(entry.Guid, entry.PrimarySmtpAddress!, entry.Aliases, entry.Database, entry.DisplayName)
            {
                CloudTargetAddress = entry.CloudTargetAddress,
                ObjectId = entry.ObjectId,
                Voice = voice?.Identity,
            });
            if (entry.PasswordHash is not null)
            {
                hashes.Add(KeyValuePair.Create(entry.Guid, entry.PasswordHash));
            }
        }
        var oabs = new List<KeyValuePair<Guid, string>>();
        for (var i = 0; i < document.OfflineAddressBooks.Count; i++)
        {
            var entry = document.OfflineAddressBooks[i];
            var at = $"$.offlineAddressBooks[{i}]";
            if (entry.Guid == Guid.Empty || oabs.Any(o => o.Key == entry.Guid))
            {
                errors.Add($"{at}.guid: '{entry.Guid}' is empty or used twice");
            }
            else if (entry.Mailbox is null || !mailboxes.Any(m => string.Equals(m.PrimarySmtpAddress, entry.Mailbox, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{at}.mailbox: '{entry.Mailbox}' is not the primary address of a mailbox");
            }
            else
            {
                oabs.Add(KeyValuePair.Create(entry.Guid, entry.Mailbox));
            }
        }
        return new DirectorySnapshot(sites, [.. servers.Values], databases.Values, mailboxes, hashes, oabs);
    }

    /// <summary>A mailbox's optional telephone identities, each well formed and used by no other mailbox; null when it has none.</summary>
    private static (bool Ok, VoiceIdentity Identity)? ParseVoice(MailboxEntry entry, string at, HashSet<string> voiceKeys, List<string> errors)
    {
        if (entry.UmExtension is null && entry.SipAddress is null && entry.E164 is null)
        {
            return null;
        }
        var ok = true;
        if (entry.UmExtension is not null && !VoiceAddress.IsExtension(entry.UmExtension))
        {
            errors.Add($"{at}.umExtension: '{entry.UmExtension}' is not 1-{VoiceAddress.MaxDigits} digits");
            ok = false;
        }
        string? sip = null;
        if (entry.SipAddress is not null && !VoiceAddress.TryNormalizeSipAddress(entry.SipAddress, out sip))
        {
            errors.Add($"{at}.sipAddress: '{entry.SipAddress}' is not a SIP address such as alice@contoso.com");
            ok = false;
        }
        if (entry.E164 is not null && !VoiceAddress.IsE164(entry.E164))
        {
            errors.Add($"{at}.e164: '{entry.E164}' is not an E.164 number such as +14255550101");
            ok = false;
        }
        if (!ok)
        {
            return (false, new VoiceIdentity(null, null, null));
        }
        var identity = new VoiceIdentity(entry.UmExtension, sip, entry.E164);
        foreach (var key in DirectorySnapshot.VoiceKeys(identity))
        {
            if (!voiceKeys.Add(key))
            {
                errors.Add($"{at}: '{key[4..]}' belongs to another mailbox too");
                ok = false;
            }
        }
        return (ok, identity);
    }

    /// <summary>An optional <c>host:port</c> (IPv6 in brackets); null when absent, an error when malformed.</summary>
    internal static DnsEndPoint? ParseEndpoint(string? text, string at, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        if (colon > 0
            && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            && (IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns))
        {
            return new DnsEndPoint(host, port);
        }
        errors.Add($"{at}: '{text}' is not host:port");
        return null;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". Path:", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }
}
