using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location.Ldap;

/// <summary>
/// <c>Gateway:Locator:Ldap</c>: Active Directory (or another LDAP directory) as the mailbox directory. The
/// attribute names default to Active Directory's Exchange attributes; see docs/directory.md for an OpenLDAP mapping.
/// </summary>
public sealed class LdapLocatorOptions
{
    /// <summary>
    /// Directory servers, tried in this order: <c>ldaps://dc1.contoso.com</c> (TLS from the first byte) or
    /// <c>ldap://dc1.contoso.com</c> (StartTLS before anything is sent). There is no plain-text mode.
    /// </summary>
    public List<string> Servers { get; set; } = [];

    /// <summary>
    /// CA certificates (PEM) the directory servers' certificates must chain to: a file or a folder. Empty: the
    /// system's trust store. Certificates are always checked, host name included.
    /// </summary>
    public string? TrustedCaPath { get; set; }

    /// <summary>The service account lookups bind as: a DN, or a user principal name on Active Directory.</summary>
    public string BindDn { get; set; } = "";

    /// <summary>The service account's password (from a secret store or environment variable in production).</summary>
    public string? BindPassword { get; set; }

    /// <summary>Where mailbox users are searched (subtree), e.g. <c>DC=contoso,DC=com</c>.</summary>
    public string BaseDn { get; set; } = "";

    /// <summary>Where mailbox server objects are searched for the server list; empty: <see cref="BaseDn"/>.</summary>
    public string? ConfigurationBaseDn { get; set; }

    /// <summary>Added to every mailbox search (an LDAP filter).</summary>
    public string MailboxFilter { get; set; } = "(objectClass=user)";

    /// <summary>Selects the mailbox server objects listed as the forwarder's destinations (an LDAP filter).</summary>
    public string ServerFilter { get; set; } = "(objectClass=msExchExchangeServer)";

    [Required]
    public LdapAttributeMap Attributes { get; set; } = new();

    /// <summary>
    /// Per mailbox server (by FQDN): what Active Directory does not say, or overrides of what it says. Without an
    /// entry a server's backend URL is <c>https://FQDN:444/</c> (Exchange's back-end site).
    /// </summary>
    public Dictionary<string, LdapMailboxServerOptions> MailboxServers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The site of a server whose object names none and that has no entry saying so.</summary>
    public string DefaultSite { get; set; } = "Default-First-Site-Name";

    /// <summary>The version of a server whose object names none and that has no entry saying so.</summary>
    public string DefaultServerVersion { get; set; } = "15.2.0.0";

    /// <summary>Connections kept per directory server (lookups beyond this wait for one).</summary>
    [Range(1, 64)]
    public int PoolSize { get; set; } = 4;

    /// <summary>Bound on each directory operation: connect and bind, search, password check.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often each directory server is probed (a failed one comes back) and the server list re-read.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong with these settings when the kind is <c>Ldap</c> (keys under <paramref name="path"/>).</summary>
    public IEnumerable<string> Problems(string path)
    {
        if (Servers.Count == 0)
        {
            yield return $"{path}:Servers: required when {LocatorOptions.Section}:Kind is Ldap (e.g. [\"ldaps://dc1.contoso.com\"]).";
        }
        for (var i = 0; i < Servers.Count; i++)
        {
            if (!LdapServerPool.TryParseServer(Servers[i], out _))
            {
                yield return $"{path}:Servers:{i} = \"{Servers[i]}\": must be ldaps://host[:port] or ldap://host[:port] (StartTLS).";
            }
        }
        if (!string.IsNullOrEmpty(TrustedCaPath) && !File.Exists(TrustedCaPath) && !Directory.Exists(TrustedCaPath))
        {
            yield return $"{path}:TrustedCaPath = \"{TrustedCaPath}\": no such file or folder.";
        }
        if (string.IsNullOrWhiteSpace(BindDn))
        {
            yield return $"{path}:BindDn: required (the service account lookups bind as).";
        }
        if (string.IsNullOrEmpty(BindPassword))
        {
            yield return $"{path}:BindPassword: required (an empty password would be an anonymous bind).";
        }
        if (string.IsNullOrWhiteSpace(BaseDn))
        {
            yield return $"{path}:BaseDn: required (e.g. DC=contoso,DC=com).";
        }
        foreach (var (key, filter) in new[] { ("MailboxFilter", MailboxFilter), ("ServerFilter", ServerFilter) })
        {
            if (!LdapFilter.IsWellFormed(filter))
            {
                yield return $"{path}:{key} = \"{filter}\": not an LDAP filter in parentheses, e.g. (objectClass=user).";
            }
        }
        if (!Version.TryParse(DefaultServerVersion, out _))
        {
            yield return $"{path}:DefaultServerVersion = \"{DefaultServerVersion}\": not a version such as 15.2.1544.4.";
        }
        foreach (var (fqdn, server) in MailboxServers)
        {
            foreach (var problem in server.Problems($"{path}:MailboxServers:{fqdn}"))
            {
                yield return problem;
            }
        }
    }
}

/// <summary>Which attribute holds what. Empty: the directory has no such attribute.</summary>
public sealed class LdapAttributeMap
{
    /// <summary>A mailbox user's primary address when <see cref="ProxyAddresses"/> has no <c>SMTP:</c> value.</summary>
    public string Mail { get; set; } = "mail";

    /// <summary>Addresses: <c>SMTP:primary@…</c> and <c>smtp:alias@…</c> (other prefixes are ignored).</summary>
    public string ProxyAddresses { get; set; } = "proxyAddresses";

    /// <summary>The mailbox GUID: 16 bytes (Active Directory) or the GUID as text.</summary>
    public string MailboxGuid { get; set; } = "msExchMailboxGuid";

    /// <summary>Also accepted as a user name and a hint.</summary>
    public string UserPrincipalName { get; set; } = "userPrincipalName";

    public string DisplayName { get; set; } = "displayName";

    /// <summary>
    /// On the user: the owner's Entra ID object id (a bearer token's <c>oid</c>), as Entra Connect writes it back to
    /// Active Directory — <c>User_&lt;guid&gt;</c> — or the bare GUID; matched in both forms. Empty: bearer tokens
    /// find no mailbox (unless <c>Gateway:Authentication:BearerUsernameFallback</c> is on).
    /// </summary>
    public string ObjectId { get; set; } = "msDS-ExternalDirectoryObjectId";

    /// <summary>On the user: the DN of the mailbox database.</summary>
    public string Database { get; set; } = "homeMDB";

    /// <summary>On the database: its GUID, 16 bytes or text (<c>entryUUID</c> on OpenLDAP).</summary>
    public string DatabaseGuid { get; set; } = "objectGUID";

    /// <summary>On the database: the DN of the server its active copy is mounted on.</summary>
    public string DatabaseServer { get; set; } = "msExchOwningServer";

    /// <summary>On the server: its FQDN.</summary>
    public string ServerFqdn { get; set; } = "dNSHostName";

    /// <summary>On the server: its site, a name or the DN of the site object.</summary>
    public string ServerSite { get; set; } = "msExchServerSite";

    /// <summary>On the server: its version, <c>15.2.1544.4</c> or Exchange's <c>Version 15.2 (Build 1544.4)</c>.</summary>
    public string ServerVersion { get; set; } = "serialNumber";

    /// <summary>On the server: the back-end URL (Active Directory has none; use <c>MailboxServers</c>).</summary>
    public string ServerBackendUrl { get; set; } = "";

    /// <summary>On the server: the IMAP back-end endpoint, <c>host:port</c>.</summary>
    public string ServerImapEndpoint { get; set; } = "";

    /// <summary>On the server: the POP3 back-end endpoint, <c>host:port</c>.</summary>
    public string ServerPopEndpoint { get; set; } = "";

    /// <summary>
    /// On the user: Exchange's Unified Messaging addresses, <c>EUM:4501;phone-context=DP1.contoso.com</c> — an
    /// extension, SIP address or E.164 number per dial plan, matched as <c>EUM:value</c> with or without the
    /// <c>;phone-context</c>. Active Directory keeps them in <c>proxyAddresses</c>.
    /// </summary>
    public string UmAddresses { get; set; } = "proxyAddresses";

    /// <summary>On the user: the SIP address, <c>sip:alice@contoso.com</c> (or without <c>sip:</c>), as Skype for Business/Lync writes it.</summary>
    public string SipAddress { get; set; } = "msRTCSIP-PrimaryUserAddress";

    /// <summary>On the user: the E.164 number, <c>+14255554501</c> exactly (no spaces or dashes).</summary>
    public string E164 { get; set; } = "telephoneNumber";

    /// <summary>On the server: the Unified Messaging (SIP) endpoint calls are redirected to, <c>host:port</c>.</summary>
    public string ServerUmEndpoint { get; set; } = "";
}

/// <summary>One mailbox server's settings where the directory has no attribute for them.</summary>
public sealed class LdapMailboxServerOptions
{
    public string? Site { get; set; }

    public string? Version { get; set; }

    /// <summary>Absolute http(s) URL of the server's back-end site.</summary>
    public string? BackendUrl { get; set; }

    /// <summary><c>host:port</c> where the server speaks IMAP to the gateway.</summary>
    public string? ImapEndpoint { get; set; }

    /// <summary><c>host:port</c> where the server speaks POP3 to the gateway.</summary>
    public string? PopEndpoint { get; set; }

    /// <summary><c>host:port</c> where the server takes Unified Messaging calls (SIP redirects name it).</summary>
    public string? UmEndpoint { get; set; }

    internal IEnumerable<string> Problems(string path)
    {
        if (Version is not null && !System.Version.TryParse(Version, out _))
        {
            yield return $"{path}:Version = \"{Version}\": not a version such as 15.2.1544.4.";
        }
        if (BackendUrl is not null && (!Uri.TryCreate(BackendUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
        {
            yield return $"{path}:BackendUrl = \"{BackendUrl}\": not an absolute http(s) URL.";
        }
        var errors = new List<string>();
        DirectoryParser.ParseEndpoint(ImapEndpoint, $"{path}:ImapEndpoint", errors);
        DirectoryParser.ParseEndpoint(PopEndpoint, $"{path}:PopEndpoint", errors);
        DirectoryParser.ParseEndpoint(UmEndpoint, $"{path}:UmEndpoint", errors);
        foreach (var error in errors)
        {
            yield return error + ".";
        }
    }
}
