using System.Net;
using System.Text;
using CasGateway.TestSupport;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>
/// Two OpenLDAP servers holding the same directory with the Exchange attributes (the test schema below), the first
/// reached over LDAPS, the second over StartTLS, both with a certificate the gateway trusts through
/// <c>TrustedCaPath</c>. Server site and version come from the server objects; the backend URLs from the
/// per-server table, as with Active Directory.
/// </summary>
public sealed class LdapStoreFixture : DirectoryStoreFixture
{
    /// <summary>The attributes Exchange adds to Active Directory that the locator reads (private OID arc).</summary>
    public const string Schema = """
        objectIdentifier ContosoOID 1.3.6.1.4.1.99999
        objectIdentifier ContosoAttr ContosoOID:1
        objectIdentifier ContosoOC ContosoOID:2
        attributetype ( ContosoAttr:1 NAME 'msExchMailboxGuid' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
        attributetype ( ContosoAttr:2 NAME 'homeMDB' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
        attributetype ( ContosoAttr:3 NAME 'msExchOwningServer' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
        attributetype ( ContosoAttr:4 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
        attributetype ( ContosoAttr:5 NAME 'dNSHostName' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )
        attributetype ( ContosoAttr:6 NAME 'msExchServerSite' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
        attributetype ( ContosoAttr:7 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        attributetype ( ContosoAttr:8 NAME 'msRTCSIP-PrimaryUserAddress' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        attributetype ( ContosoAttr:9 NAME 'msDS-ExternalDirectoryObjectId' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
        objectclass ( ContosoOC:1 NAME 'contosoExchangeObject' SUP top AUXILIARY
            MAY ( msExchMailboxGuid $ homeMDB $ msExchOwningServer $ proxyAddresses $ dNSHostName $ msExchServerSite $ userPrincipalName $
                  msRTCSIP-PrimaryUserAddress $ msDS-ExternalDirectoryObjectId ) )

        """;

    private string _folder = null!;
    private string _caFile = null!;

    public SlapdServer Primary { get; private set; } = null!;

    public SlapdServer Secondary { get; private set; } = null!;

    public override string StoreName => "Ldap " + Primary.LdapsUrl;

    public override Dictionary<string, string?> StoreSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Locator:Kind"] = "Ldap",
            ["Gateway:Locator:Ldap:Servers:0"] = Primary.LdapsUrl,
            ["Gateway:Locator:Ldap:Servers:1"] = Secondary.LdapUrl,
            ["Gateway:Locator:Ldap:TrustedCaPath"] = _caFile,
            ["Gateway:Locator:Ldap:BindDn"] = SlapdServer.AdminDn,
            ["Gateway:Locator:Ldap:BindPassword"] = SlapdServer.AdminPassword,
            ["Gateway:Locator:Ldap:BaseDn"] = "ou=People," + SlapdServer.Suffix,
            ["Gateway:Locator:Ldap:ConfigurationBaseDn"] = "ou=Servers," + SlapdServer.Suffix,
            ["Gateway:Locator:Ldap:MailboxFilter"] = "(objectClass=inetOrgPerson)",
            ["Gateway:Locator:Ldap:ServerFilter"] = "(objectClass=device)",
            ["Gateway:Locator:Ldap:Attributes:DatabaseGuid"] = "entryUUID",
            ["Gateway:Locator:Ldap:Attributes:DisplayName"] = "cn",
            ["Gateway:Locator:Ldap:OperationTimeout"] = "00:00:02",
            ["Gateway:Locator:Ldap:HealthCheckInterval"] = "00:00:00.500",
        };
        foreach (var server in Topology.Directory.Servers)
        {
            settings[$"Gateway:Locator:Ldap:MailboxServers:{server.Fqdn}:BackendUrl"] = server.BackendUrl.ToString();
            if (Topology.Directory.UmEndpoints.TryGetValue(server.Fqdn, out var um))
            {
                settings[$"Gateway:Locator:Ldap:MailboxServers:{server.Fqdn}:UmEndpoint"] = um;
            }
        }
        return settings;
    }

    public override async Task MoveDatabaseAsync(string database, string server)
    {
        Topology.Directory.Activate(database, server);
        var change = $"dn: cn={database},ou=Databases,{SlapdServer.Suffix}\nchangetype: modify\nreplace: msExchOwningServer\nmsExchOwningServer: {ServerDn(server)}\n";
        await Primary.ModifyAsync(change);
        await Secondary.ModifyAsync(change);
    }

    public override async Task TakeDownAsync()
    {
        await Primary.StopAsync();
        await Secondary.StopAsync();
    }

    public override async Task BringBackAsync()
    {
        await Primary.StartAsync();
        await Secondary.StartAsync();
    }

    protected override async Task StartStoreAsync()
    {
        _folder = Directory.CreateTempSubdirectory("casgw-ldap.").FullName;
        await ExternalProgram.RunAsync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", Path.Combine(_folder, "key.pem"), "-out", Path.Combine(_folder, "cert.pem")]);
        _caFile = Path.Combine(_folder, "cert.pem");
        var certificate = File.ReadAllText(_caFile);
        var key = File.ReadAllText(Path.Combine(_folder, "key.pem"));
        var ldif = Ldif();
        Primary = await SlapdServer.StartAsync(Path.Combine(_folder, "a"), Schema, certificate, key, ldif);
        Secondary = await SlapdServer.StartAsync(Path.Combine(_folder, "b"), Schema, certificate, key, ldif);
    }

    protected override async Task StopStoreAsync()
    {
        await Primary.DisposeAsync();
        await Secondary.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static string ServerDn(string fqdn) => $"cn={fqdn.Split('.')[0].ToUpperInvariant()},ou=Servers,{SlapdServer.Suffix}";

    /// <summary>The topology's directory as LDAP entries (users without a password get no userPassword).</summary>
    private string Ldif()
    {
        var ldif = new StringBuilder($"""
            dn: {SlapdServer.Suffix}
            objectClass: dcObject
            objectClass: organization
            dc: contoso
            o: Contoso

            """);
        foreach (var ou in (string[])["People", "Servers", "Databases"])
        {
            ldif.Append($"\ndn: ou={ou},{SlapdServer.Suffix}\nobjectClass: organizationalUnit\nou: {ou}\n");
        }
        foreach (var server in Topology.Directory.Servers)
        {
            var v = Version.Parse(server.Version);
            ldif.Append($"\ndn: {ServerDn(server.Fqdn)}\nobjectClass: device\nobjectClass: contosoExchangeObject\ncn: {server.Fqdn.Split('.')[0].ToUpperInvariant()}\n")
                .Append($"dNSHostName: {server.Fqdn}\nmsExchServerSite: cn={server.Site},cn=Sites,cn=Configuration,{SlapdServer.Suffix}\n")
                .Append($"serialNumber: Version {v.Major}.{v.Minor} (Build {v.Build}.{v.Revision})\n");
        }
        foreach (var database in Topology.Directory.Databases)
        {
            ldif.Append($"\ndn: cn={database.Name},ou=Databases,{SlapdServer.Suffix}\nobjectClass: applicationProcess\nobjectClass: contosoExchangeObject\n")
                .Append($"cn: {database.Name}\nentryUUID: {database.Guid}\nmsExchOwningServer: {ServerDn(database.Active)}\n");
        }
        foreach (var mailbox in Topology.Directory.Mailboxes)
        {
            var local = mailbox.Address.Split('@')[0];
            ldif.Append($"\ndn: uid={local},ou=People,{SlapdServer.Suffix}\nobjectClass: inetOrgPerson\nobjectClass: contosoExchangeObject\n")
                .Append($"uid: {local}\ncn: {local}\nsn: {local}\nmail: {mailbox.Address}\nproxyAddresses: SMTP:{mailbox.Address}\n")
                .Append(string.Concat(mailbox.Aliases.Select(a => $"proxyAddresses: smtp:{a}\n")))
                .Append(Topology.Directory.Voice.TryGetValue(mailbox.Address, out var um) && um.UmExtension is { } extension
                    ? $"proxyAddresses: EUM:{extension};phone-context=DP1.contoso.com\n"
                    : "")
                .Append($"userPrincipalName: {local}@corp.contoso.test\n")
                .Append($"msExchMailboxGuid:: {Convert.ToBase64String(mailbox.Guid.ToByteArray())}\n")
                .Append($"homeMDB: cn={mailbox.Database},ou=Databases,{SlapdServer.Suffix}\n")
                // The owner's Entra ID object id as Entra Connect writes it back (User_<guid>); bob's as a bare GUID.
                .Append($"msDS-ExternalDirectoryObjectId: {(local == "bob" ? "" : "User_")}{TestDirectory.ObjectIdOf(mailbox.Address)}\n");
            if (mailbox.PasswordHash is not null)
            {
                ldif.Append($"userPassword: {TestDirectory.PasswordOf(mailbox.Address)}\n");
            }
            // Telephone identities as Exchange and Skype for Business write them: the extension as a UM address of its
            // dial plan (above, with the other proxyAddresses: slapadd keeps an attribute's lines together only when
            // they are adjacent), the SIP address with its scheme, the number in telephoneNumber.
            if (Topology.Directory.Voice.TryGetValue(mailbox.Address, out var voice))
            {
                ldif.Append(voice.SipAddress is { } sip ? $"msRTCSIP-PrimaryUserAddress: sip:{sip}\n" : "")
                    .Append(voice.E164 is { } e164 ? $"telephoneNumber: {e164}\n" : "");
            }
        }
        return ldif.ToString();
    }
}

/// <summary>Issue 18: the LDAP store against real OpenLDAP servers.</summary>
public sealed partial class LdapDirectoryTests(LdapStoreFixture store) : DirectoryStoreTests<LdapStoreFixture>(store)
{
    [Fact]
    public async Task A_user_principal_name_signs_in_and_routes_to_its_mailbox()
    {
        await using var gateway = await StartGatewayAsync();
        using var client = gateway.CreateClient();
        var answer = await SendAsync(client, "/owa/", TestGateway.Basic("bob@corp.contoso.test", "pw-bob"));
        Assert.Equal(("mbx2.contoso.com", "bob@contoso.com"), (answer.Server, answer.Mailbox));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(client, "bob@corp.contoso.test", "pw-alice"));
    }

    [Fact]
    public async Task The_second_directory_server_takes_over_when_the_first_stops()
    {
        await using var gateway = await StartGatewayAsync();
        using var client = gateway.CreateClient();
        Assert.Equal(Store.StoreName, await ReadyStoreAsync(client));
        await Store.Primary.StopAsync();
        try
        {
            // Nothing cached yet for carol: the lookup and the password check both go to the second server (StartTLS).
            Assert.Equal("mbx1.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(Topology.Directory.Mailbox("carol@contoso.com")))).Server);
            var store = await RequestPath.RequestPathTests.PollAsync(() => ReadyStoreAsync(client), s => s == "Ldap " + Store.Secondary.LdapUrl, TimeSpan.FromSeconds(10));
            Assert.Equal("Ldap " + Store.Secondary.LdapUrl, store);
        }
        finally
        {
            await Store.Primary.StartAsync();
        }
        var back = await RequestPath.RequestPathTests.PollAsync(() => ReadyStoreAsync(client), s => s == Store.StoreName, TimeSpan.FromSeconds(10));
        Assert.Equal(Store.StoreName, back);
    }

    [Fact]
    public async Task A_directory_that_stops_answering_costs_the_locator_timeout_then_the_open_breaker_answers_503_at_once()
    {
        var timeout = TimeSpan.FromSeconds(3);
        await using var gateway = await StartGatewayAsync(new()
        {
            // The directory's own operation timeout is far longer: the gateway's bound on a store call must cut it.
            ["Gateway:Locator:Ldap:OperationTimeout"] = "00:00:30",
            ["Gateway:Locator:Resilience:Timeout"] = "00:00:03",
            ["Gateway:Locator:Resilience:MaxRetries"] = "0",
            ["Gateway:Locator:Resilience:BreakerMinimumThroughput"] = "2",
            ["Gateway:Locator:Resilience:BreakerFailureRatio"] = "0.5",
            ["Gateway:Locator:Resilience:BreakerSamplingDuration"] = "00:01:00",
            ["Gateway:Locator:Resilience:BreakerBreakDuration"] = "00:01:00",
        });
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(15));
        var alice = Topology.Directory.Mailbox("alice@contoso.com");
        // Alice's password check is cached before the directory hangs; every later request needs only a location.
        Assert.Equal("mbx1.contoso.com", (await SendAsync(client, "/owa/", TestGateway.Basic(alice))).Server);

        await Store.Primary.SignalAsync("STOP");
        await Store.Secondary.SignalAsync("STOP");
        try
        {
            async Task<(HttpStatusCode Status, TimeSpan Took, TimeSpan? RetryAfter)> ColdAsync(string anchor)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
                request.Headers.Authorization = TestGateway.Basic(alice);
                request.Headers.Add("X-AnchorMailbox", anchor);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request);
                return (response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started), response.Headers.RetryAfter?.Delta);
            }

            // The lookup waits the locator timeout, not the directory's 30 s, and is answered 503 with Retry-After.
            var (status, took, retryAfter) = await ColdAsync("hang1@contoso.com");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.NotNull(retryAfter);
            Assert.True(took > timeout - TimeSpan.FromMilliseconds(200) && took < TimeSpan.FromSeconds(25), $"answered after {took.TotalMilliseconds:0} ms");
            // Alice's lookup (a success) and that timeout (a failure) are half failures over the minimum throughput: the
            // breaker is open, and the next lookup is refused without waiting for the directory.
            var (openStatus, openTook, openRetryAfter) = await ColdAsync("hang2@contoso.com");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, openStatus);
            Assert.NotNull(openRetryAfter);
            Assert.True(openTook < timeout, $"the open breaker answered after {openTook.TotalMilliseconds:0} ms, not at once");
        }
        finally
        {
            await Store.Primary.SignalAsync("CONT");
            await Store.Secondary.SignalAsync("CONT");
        }
    }

    [Fact]
    public async Task A_directory_certificate_that_does_not_chain_to_the_trusted_ca_is_refused()
    {
        var folder = Directory.CreateTempSubdirectory("casgw-ca.").FullName;
        try
        {
            await ExternalProgram.RunAsync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other-ca",
                "-keyout", Path.Combine(folder, "key.pem"), "-out", Path.Combine(folder, "ca.pem")]);
            await using var gateway = await StartGatewayAsync(new() { ["Gateway:Locator:Ldap:TrustedCaPath"] = Path.Combine(folder, "ca.pem") });
            using var client = gateway.CreateClient();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(client, "alice@contoso.com", "pw-alice"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
