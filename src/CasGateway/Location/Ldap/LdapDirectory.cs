using System.DirectoryServices.Protocols;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CasGateway.Anchoring;
using Microsoft.Extensions.Options;

namespace CasGateway.Location.Ldap;

/// <summary>A mailbox user as the directory holds it.</summary>
internal sealed record LdapMailboxEntry(string Dn, Mailbox Mailbox, string? DatabaseDn);

/// <summary>A mailbox database object: its name, GUID and the DN of the server its active copy is mounted on.</summary>
internal sealed record LdapDatabaseEntry(string Name, Guid Guid, string? ServerDn);

/// <summary>
/// The directory's objects through the attribute map: mailbox users found by address, UPN or mailbox GUID
/// (every value escaped into the filter), databases and servers read by DN, the mailbox server list.
/// </summary>
internal sealed partial class LdapDirectory(LdapServerPool pool, IOptions<LocatorOptions> options, ILogger<LdapDirectory> logger)
{
    private readonly LdapLocatorOptions _options = options.Value.Ldap;

    private LdapAttributeMap Map => _options.Attributes;

    /// <summary>The mailbox user an anchor names, or null (no such user, no mailbox, or more than one match).</summary>
    public Task<LdapMailboxEntry?> FindMailboxAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
    {
        var match = anchor.Kind switch
        {
            AnchorKind.Smtp => AddressFilter(anchor.Address),
            AnchorKind.MailboxGuid when Map.MailboxGuid.Length > 0 => $"(|({Map.MailboxGuid}={LdapFilter.Escape(anchor.MailboxGuid.ToByteArray())}){LdapFilter.Equal(Map.MailboxGuid, anchor.MailboxGuid.ToString("D"))})",
            _ => null,
        };
        return match is null ? Task.FromResult<LdapMailboxEntry?>(null) : FindUserAsync(match, anchor.Address, cancellationToken);
    }

    /// <summary>The user a sign-in name (address or UPN) belongs to, for the password check.</summary>
    public Task<LdapMailboxEntry?> FindUserAsync(string userName, CancellationToken cancellationToken)
        => AddressFilter(userName) is { } filter ? FindUserAsync(filter, userName, cancellationToken) : Task.FromResult<LdapMailboxEntry?>(null);

    /// <summary>
    /// The mailbox user with this extension, SIP address or E.164 number (<see cref="LdapAttributeMap.UmAddresses"/>,
    /// <see cref="LdapAttributeMap.SipAddress"/>, <see cref="LdapAttributeMap.E164"/>), or null (none, or more than one).
    /// </summary>
    public Task<LdapMailboxEntry?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
        => VoiceFilter(address) is { } filter ? FindUserAsync(filter, address.Value, cancellationToken) : Task.FromResult<LdapMailboxEntry?>(null);

    /// <summary>The mailbox user whose <see cref="LdapAttributeMap.ObjectId"/> holds this object id, or null (none, more than one, or no attribute mapped).</summary>
    public Task<LdapMailboxEntry?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken)
        => Map.ObjectId.Length > 0
            ? FindUserAsync(LdapFilter.ObjectId(Map.ObjectId, objectId), "oid " + objectId.ToString("D"), cancellationToken)
            : Task.FromResult<LdapMailboxEntry?>(null);

    public Task<LdapDatabaseEntry?> ReadDatabaseAsync(string dn, CancellationToken cancellationToken)
        => pool.RunAsync(async (connection, ct) =>
        {
            var entry = await ReadAsync(connection, dn, [Map.DatabaseGuid, Map.DatabaseServer], ct);
            if (entry is null)
            {
                return null;
            }
            var guid = GuidOf(entry, Map.DatabaseGuid) ?? Guid.Empty;
            return new LdapDatabaseEntry(RdnValue(dn), guid, First(entry, Map.DatabaseServer));
        }, cancellationToken);

    public Task<MailboxServer?> ReadServerAsync(string dn, CancellationToken cancellationToken)
        => pool.RunAsync(async (connection, ct) => await ReadAsync(connection, dn, ServerAttributes, ct) is { } entry ? ToServer(entry) : null, cancellationToken);

    /// <summary>Every mailbox server object (by <see cref="LdapLocatorOptions.ServerFilter"/>), keyed by DN.</summary>
    public Task<IReadOnlyList<(string Dn, MailboxServer Server)>> ListServersAsync(CancellationToken cancellationToken)
        => pool.RunAsync<IReadOnlyList<(string, MailboxServer)>>(async (connection, ct) =>
        {
            var request = new SearchRequest(_options.ConfigurationBaseDn is { Length: > 0 } b ? b : _options.BaseDn, _options.ServerFilter, SearchScope.Subtree, ServerAttributes);
            var response = await connection.SearchAsync(request, _options.OperationTimeout, ct);
            var servers = new List<(string, MailboxServer)>();
            foreach (SearchResultEntry entry in response.Entries)
            {
                if (ToServer(entry) is { } server)
                {
                    servers.Add((entry.DistinguishedName, server));
                }
            }
            return servers;
        }, cancellationToken);

    private string[] ServerAttributes => Present(Map.ServerFqdn, Map.ServerSite, Map.ServerVersion, Map.ServerBackendUrl, Map.ServerImapEndpoint, Map.ServerPopEndpoint, Map.ServerUmEndpoint);

    private string[] MailboxAttributes => Present(Map.Mail, Map.ProxyAddresses, Map.MailboxGuid, Map.UserPrincipalName, Map.DisplayName, Map.Database);

    /// <summary><c>(|(mail=v)(proxyAddresses=smtp:v)(userPrincipalName=v))</c>, values escaped; null if nothing is mapped or the value has control characters.</summary>
    private string? AddressFilter(string address)
    {
        // Control characters never belong in an address; some servers cut a value at NUL, so none reaches a filter.
        if (address.Any(char.IsControl))
        {
            return null;
        }
        var terms = string.Concat(
            Map.Mail.Length > 0 ? LdapFilter.Equal(Map.Mail, address) : "",
            Map.ProxyAddresses.Length > 0 ? LdapFilter.Equal(Map.ProxyAddresses, "smtp:" + address) : "",
            Map.UserPrincipalName.Length > 0 ? LdapFilter.Equal(Map.UserPrincipalName, address) : "");
        return terms.Length == 0 ? null : $"(|{terms})";
    }

    /// <summary>
    /// <c>(|(proxyAddresses=EUM:v)(proxyAddresses=EUM:v;*)…)</c>: the UM address with or without its phone context,
    /// and for a SIP address or a number the attribute holding it; values escaped. Null if nothing is mapped.
    /// </summary>
    private string? VoiceFilter(VoiceAddress address)
    {
        if (address.Value.Any(char.IsControl))
        {
            return null;
        }
        var terms = new StringBuilder();
        if (Map.UmAddresses.Length > 0)
        {
            terms.Append(LdapFilter.Equal(Map.UmAddresses, "EUM:" + address.Value))
                .Append('(').Append(Map.UmAddresses).Append('=').Append(LdapFilter.Escape("EUM:" + address.Value + ";")).Append("*)");
        }
        if (address.Kind == VoiceAddressKind.SipAddress && Map.SipAddress.Length > 0)
        {
            terms.Append(LdapFilter.Equal(Map.SipAddress, "sip:" + address.Value)).Append(LdapFilter.Equal(Map.SipAddress, address.Value));
        }
        if (address.Kind == VoiceAddressKind.E164 && Map.E164.Length > 0)
        {
            terms.Append(LdapFilter.Equal(Map.E164, address.Value));
        }
        return terms.Length == 0 ? null : $"(|{terms})";
    }

    private Task<LdapMailboxEntry?> FindUserAsync(string match, string anchor, CancellationToken cancellationToken)
        => pool.RunAsync(async (connection, ct) =>
        {
            // Two results are enough to know the answer is ambiguous.
            var request = new SearchRequest(_options.BaseDn, $"(&{_options.MailboxFilter}{match})", SearchScope.Subtree, MailboxAttributes) { SizeLimit = 2 };
            SearchResponse response;
            try
            {
                response = await connection.SearchAsync(request, _options.OperationTimeout, ct);
            }
            catch (DirectoryOperationException ex) when (ex.Response?.ResultCode == ResultCode.SizeLimitExceeded)
            {
                LogAmbiguous(logger, anchor);
                return null;
            }
            catch (DirectoryOperationException ex) when (ex.Response?.ResultCode == ResultCode.NoSuchObject)
            {
                return null;
            }
            if (response.Entries.Count > 1)
            {
                LogAmbiguous(logger, anchor);
            }
            return response.Entries.Count == 1 ? ToMailbox(response.Entries[0]) : null;
        }, cancellationToken);

    private LdapMailboxEntry? ToMailbox(SearchResultEntry entry)
    {
        if (GuidOf(entry, Map.MailboxGuid) is not { } guid)
        {
            return null;
        }
        string? primary = null;
        var aliases = new List<string>();
        foreach (var value in All(entry, Map.ProxyAddresses))
        {
            if (value.StartsWith("SMTP:", StringComparison.Ordinal))
            {
                primary = value[5..];
            }
            else if (value.StartsWith("smtp:", StringComparison.OrdinalIgnoreCase))
            {
                aliases.Add(value[5..]);
            }
        }
        primary ??= First(entry, Map.Mail);
        if (primary is null)
        {
            return null;
        }
        aliases.RemoveAll(a => string.Equals(a, primary, StringComparison.OrdinalIgnoreCase));
        var database = First(entry, Map.Database);
        var mailbox = new Mailbox(guid, primary, aliases, database is null ? null : RdnValue(database), First(entry, Map.DisplayName));
        return new LdapMailboxEntry(entry.DistinguishedName, mailbox, database);
    }

    private MailboxServer? ToServer(SearchResultEntry entry)
    {
        if (First(entry, Map.ServerFqdn) is not { } fqdn)
        {
            LogBadServer(logger, entry.DistinguishedName, $"no {Map.ServerFqdn}");
            return null;
        }
        _options.MailboxServers.TryGetValue(fqdn, out var table);
        var errors = new List<string>();
        var site = table?.Site ?? (First(entry, Map.ServerSite) is { } s ? RdnValue(s) : _options.DefaultSite);
        var version = ParseVersion(table?.Version ?? First(entry, Map.ServerVersion)) ?? Version.Parse(_options.DefaultServerVersion);
        var imap = DirectoryParser.ParseEndpoint(table?.ImapEndpoint ?? First(entry, Map.ServerImapEndpoint), "imap endpoint", errors);
        var pop = DirectoryParser.ParseEndpoint(table?.PopEndpoint ?? First(entry, Map.ServerPopEndpoint), "pop endpoint", errors);
        var um = DirectoryParser.ParseEndpoint(table?.UmEndpoint ?? First(entry, Map.ServerUmEndpoint), "um endpoint", errors);
        var urlText = table?.BackendUrl ?? First(entry, Map.ServerBackendUrl) ?? $"https://{fqdn}:444/";
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add($"backend URL '{urlText}' is not an absolute http(s) URL");
        }
        if (errors.Count > 0)
        {
            LogBadServer(logger, entry.DistinguishedName, string.Join("; ", errors));
            return null;
        }
        return new MailboxServer(fqdn, site, version, url!) { ImapEndpoint = imap, PopEndpoint = pop, UmEndpoint = um };
    }

    private static async Task<SearchResultEntry?> ReadAsync(LdapConnection connection, string dn, string[] attributes, CancellationToken cancellationToken)
    {
        try
        {
            var response = await connection.SearchAsync(new SearchRequest(dn, "(objectClass=*)", SearchScope.Base, Present(attributes)), connection.Timeout, cancellationToken);
            return response.Entries.Count == 1 ? response.Entries[0] : null;
        }
        catch (DirectoryOperationException ex) when (ex.Response?.ResultCode is ResultCode.NoSuchObject or ResultCode.InvalidDNSyntax)
        {
            return null;
        }
    }

    /// <summary>Exchange writes <c>Version 15.2 (Build 1544.4)</c>; other directories a plain version.</summary>
    private static Version? ParseVersion(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var exchange = ExchangeVersion().Match(text);
        if (exchange.Success)
        {
            int Part(int i) => int.Parse(exchange.Groups[i].Value, CultureInfo.InvariantCulture);
            return new Version(Part(1), Part(2), Part(3), Part(4));
        }
        return Version.TryParse(text, out var version) ? version : null;
    }

    /// <summary>A GUID attribute: 16 bytes (Active Directory's layout) or text.</summary>
    private static Guid? GuidOf(SearchResultEntry entry, string attribute)
    {
        if (Attribute(entry, attribute) is not { Count: > 0 } values)
        {
            return null;
        }
        var bytes = (byte[])values.GetValues(typeof(byte[]))[0];
        if (bytes.Length == 16)
        {
            return new Guid(bytes);
        }
        return Guid.TryParse(System.Text.Encoding.UTF8.GetString(bytes), out var guid) ? guid : null;
    }

    /// <summary>The value of a DN's first RDN: <c>CN=DB01,CN=Databases,…</c> → <c>DB01</c>; a plain name as is.</summary>
    internal static string RdnValue(string dn)
    {
        var equals = dn.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0)
        {
            return dn;
        }
        var end = equals + 1;
        while (end < dn.Length && dn[end] != ',')
        {
            end += dn[end] == '\\' ? 2 : 1;
        }
        return dn[(equals + 1)..Math.Min(end, dn.Length)].Replace("\\", "", StringComparison.Ordinal);
    }

    private static DirectoryAttribute? Attribute(SearchResultEntry entry, string name)
    {
        if (name.Length == 0)
        {
            return null;
        }
        foreach (string key in entry.Attributes.AttributeNames)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return entry.Attributes[key];
            }
        }
        return null;
    }

    private static IEnumerable<string> All(SearchResultEntry entry, string name)
        => Attribute(entry, name) is { } values ? values.GetValues(typeof(string)).Cast<string>() : [];

    private static string? First(SearchResultEntry entry, string name) => All(entry, name).FirstOrDefault();

    private static string[] Present(params string[] names) => [.. names.Where(n => n.Length > 0)];

    [GeneratedRegex(@"^Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)$")]
    private static partial Regex ExchangeVersion();

    [LoggerMessage(Level = LogLevel.Warning, Message = "More than one directory object matches {Anchor}: treated as unknown")]
    private static partial void LogAmbiguous(ILogger logger, string anchor);

    [LoggerMessage(Level = LogLevel.Error, Message = "Mailbox server object {Dn} skipped: {Problem}")]
    private static partial void LogBadServer(ILogger logger, string dn, string problem);
}
