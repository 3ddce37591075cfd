using System.Data.Common;
using System.Net;
using CasGateway.EndToEnd.DirectoryStores;
using CasGateway.Location;
using CasGateway.Location.Sql;
using CasGateway.Sip;
using CasGateway.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Sip;

/// <summary>
/// A directory store (LDAP on two slapd servers, SQLite, PostgreSQL — see <see cref="DirectoryStoreFixture"/> for its
/// users, extensions and umEndpoints) and one gateway with SIP over UDP and TCP in front of it, for the class.
/// </summary>
public sealed class SipStoreFixture<TStore> : IAsyncLifetime
    where TStore : DirectoryStoreFixture, new()
{
    public TStore Store { get; } = new();

    public TestGateway Gateway { get; private set; } = null!;

    public SipListeners Listeners => Gateway.GetRequiredService<SipListeners>();

    public async Task InitializeAsync()
    {
        await Store.InitializeAsync();
        var settings = Store.StoreSettings();
        settings["Gateway:Locator:Cache:TimeToLive"] = "00:00:00.500";
        settings["Gateway:Locator:Cache:NegativeTimeToLive"] = "00:00:00.500";
        settings["Gateway:Sip:TcpPort"] = "0";
        settings["Gateway:Sip:UdpPort"] = "0";
        settings["Gateway:Sip:Peers:0"] = "127.0.0.1/32";
        Gateway = await TestGateway.StartAsync(Store.Topology, settings);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Store.DisposeAsync();
    }
}

/// <summary>Issue 20: every directory store finds the called mailbox by its extension, SIP address or E.164 number.</summary>
public abstract class SipDirectoryStoreTests<TStore>(SipStoreFixture<TStore> fixture, ITestOutputHelper output) : IClassFixture<SipStoreFixture<TStore>>
    where TStore : DirectoryStoreFixture, new()
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(5);

    protected TStore Store => fixture.Store;

    protected TestGateway Gateway => fixture.Gateway;

    protected IPEndPoint Udp => fixture.Listeners.Udp!;

    private async Task CallAsync(string scenario, bool tcp, string service)
    {
        var (exitCode, log) = await Sipp.RunAsync(scenario, tcp ? fixture.Listeners.Tcp! : Udp, tcp, service);
        if (exitCode != 0)
        {
            output.WriteLine(log);
        }
        Assert.True(exitCode == 0, $"SIPp exit code {exitCode} ({(tcp ? "TCP" : "UDP")}, {service}); its trace is in the test output");
    }

    [Fact]
    public async Task Extensions_are_redirected_to_the_mailboxs_server_and_unknown_ones_are_not_found()
    {
        var voice = fixture.Gateway.GetRequiredService<IVoiceDirectory>();
        Assert.Equal("alice@contoso.com", (await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.Extension, "4501"), CancellationToken.None))?.PrimarySmtpAddress);
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4501@mbx1\.contoso\.com:5062;transport=udp>$"), tcp: false, "4501");
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4502@mbx2\.contoso\.com:5063;transport=tcp>$"), tcp: true, "4502");
        await CallAsync(Sipp.Invite(404), tcp: false, "4999");
        // An extension is only an extension: 450 is no prefix of 4501, and a number is not an extension.
        await CallAsync(Sipp.Invite(404), tcp: true, "450");
        Assert.Null(await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.E164, "+4501"), CancellationToken.None));
    }

    [Fact]
    public async Task Sip_addresses_and_e164_numbers_find_the_mailbox_too()
    {
        // SIP addresses compare case-insensitively; the Contact keeps the dialled user.
        Assert.Contains("Contact: <sip:Alice@mbx1.contoso.com:5062;transport=udp>",
            await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:Alice@Contoso.com", "UDP"), Answer));
        Assert.Contains("Contact: <sip:+14255554501@mbx1.contoso.com:5062;transport=udp>",
            await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "tel:+1-425-555-4501", "UDP"), Answer));
        Assert.StartsWith("SIP/2.0 404 ", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:carol@contoso.com", "UDP"), Answer));
        Assert.StartsWith("SIP/2.0 404 ", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "tel:+14255554502", "UDP"), Answer));
    }

    [Fact]
    public async Task Numbers_and_addresses_that_try_to_widen_the_lookup_find_nothing()
    {
        var voice = fixture.Gateway.GetRequiredService<IVoiceDirectory>();
        // Straight to the store, past the SIP parser's checks: the store escapes or binds every value itself.
        VoiceAddress[] attacks =
        [
            new(VoiceAddressKind.Extension, "*"), new(VoiceAddressKind.Extension, "450*"), new(VoiceAddressKind.Extension, "4501;*"),
            new(VoiceAddressKind.Extension, "4501)(mail=*"), new(VoiceAddressKind.Extension, "%"), new(VoiceAddressKind.Extension, "4501\0"),
            new(VoiceAddressKind.SipAddress, "*@contoso.com"), new(VoiceAddressKind.SipAddress, "a*@contoso.com"), new(VoiceAddressKind.SipAddress, "*)(uid=*"),
            new(VoiceAddressKind.SipAddress, "%@contoso.com"), new(VoiceAddressKind.SipAddress, "alice@contoso.com\0"),
            new(VoiceAddressKind.E164, "+1425*"), new(VoiceAddressKind.E164, "*"), new(VoiceAddressKind.E164, "' OR '1'='1"),
        ];
        foreach (var attack in attacks)
        {
            Assert.Null(await voice.FindVoiceUserAsync(attack, CancellationToken.None));
        }
        Assert.StartsWith("SIP/2.0 404 ", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:*@contoso.com", "UDP"), Answer));
        Assert.StartsWith("SIP/2.0 404 ", await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:a*@contoso.com", "UDP"), Answer));
    }

    [Fact]
    public async Task A_database_moved_in_the_store_is_followed_by_calls()
    {
        await CallAsync(Sipp.Invite(302, @"^ *<sip:4502@mbx2\.contoso\.com:5063;transport=udp>$"), tcp: false, "4502");
        await fixture.Store.MoveDatabaseAsync("DB02", "mbx1.contoso.com");
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!((await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "sip:4502@127.0.0.1", "UDP"), Answer)) ?? "").Contains("@mbx1.contoso.com", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, "the redirect never followed the move");
                await Task.Delay(50);
            }
            await CallAsync(Sipp.Invite(302, @"^ *<sip:4502@mbx1\.contoso\.com:5062;transport=tcp>$"), tcp: true, "4502");
        }
        finally
        {
            await fixture.Store.MoveDatabaseAsync("DB02", "mbx2.contoso.com");
        }
    }
}

public sealed class LdapSipTests(SipStoreFixture<LdapStoreFixture> fixture, ITestOutputHelper output)
    : SipDirectoryStoreTests<LdapStoreFixture>(fixture, output)
{
    [Fact]
    public async Task Um_addresses_of_sip_and_e164_dial_plans_find_the_user_and_an_extension_two_users_share_finds_none()
    {
        var voice = Gateway.GetRequiredService<IVoiceDirectory>();
        const string Bob = "uid=bob,ou=People," + SlapdServer.Suffix;
        const string Carol = "uid=carol,ou=People," + SlapdServer.Suffix;
        var bobsUm = $"dn: {Bob}\nchangetype: modify\n{{0}}: proxyAddresses\nproxyAddresses: EUM:bob@voice.contoso.com;phone-context=SipDP.contoso.com\n"
            + "proxyAddresses: EUM:+14255554502;phone-context=E164DP.contoso.com\n";
        // Carol is given alice's extension in another dial plan.
        var carolsUm = $"dn: {Carol}\nchangetype: modify\n{{0}}: proxyAddresses\nproxyAddresses: EUM:4501;phone-context=DP2.contoso.com\n";
        await ModifyAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, bobsUm, "add") + "\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, carolsUm, "add"));
        try
        {
            Assert.Equal("bob@contoso.com", (await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.SipAddress, "bob@voice.contoso.com"), CancellationToken.None))?.PrimarySmtpAddress);
            Assert.Equal("bob@contoso.com", (await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.E164, "+14255554502"), CancellationToken.None))?.PrimarySmtpAddress);
            Assert.Null(await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.Extension, "4501"), CancellationToken.None));
            Assert.Contains("Contact: <sip:+14255554502@mbx2.contoso.com:5063;transport=udp>",
                await RawSip.UdpAsync(Udp, RawSip.Request("INVITE", "tel:+1-425-555-4502", "UDP"), TimeSpan.FromSeconds(5)));
        }
        finally
        {
            await ModifyAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, bobsUm, "delete") + "\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, carolsUm, "delete"));
        }
        Assert.Equal("alice@contoso.com", (await voice.FindVoiceUserAsync(new VoiceAddress(VoiceAddressKind.Extension, "4501"), CancellationToken.None))?.PrimarySmtpAddress);
    }

    private async Task ModifyAsync(string ldif)
    {
        await Store.Primary.ModifyAsync(ldif);
        await Store.Secondary.ModifyAsync(ldif);
    }
}

/// <summary>The SQL store's voice data: imported from a directory file, and added to a database an older version made.</summary>
public abstract class SqlSipTests<TStore>(SipStoreFixture<TStore> fixture, ITestOutputHelper output) : SipDirectoryStoreTests<TStore>(fixture, output)
    where TStore : SqlStoreFixture, new()
{
    [Fact]
    public async Task Directory_init_upgrades_an_older_database_and_import_carries_every_voice_field()
    {
        var store = Store;
        var connectionString = await store.CreateDatabaseAsync("voice" + Guid.NewGuid().ToString("N")[..8]);
        var settings = store.SqlSettings(connectionString);
        using (var printed = new StringWriter())
        using (var error = new StringWriter())
        {
            var init = SqlDirectoryCommands.Run(["init", .. settings.Where(kv => kv.Key.StartsWith("Gateway:Locator:Sql:", StringComparison.Ordinal)).Select(kv => $"--{kv.Key}={kv.Value}")], printed, error);
            Assert.True(init == 0, error.ToString());
        }
        // What a database made before the voice fields looks like.
        await using (var connection = store.Provider == SqlProviders.Sqlite
            ? (DbConnection)new SqliteConnection(connectionString)
            : new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Password = PostgresCluster.Password }.ConnectionString))
        {
            await connection.OpenAsync();
            foreach (var statement in (string[])["DROP TABLE voice_addresses", "ALTER TABLE servers DROP COLUMN um_endpoint"])
            {
                await using var command = connection.CreateCommand();
                command.CommandText = statement;
                await command.ExecuteNonQueryAsync();
            }
        }

        // Import runs init first, which adds what is missing; then the SQL store answers as the file does.
        var demo = Path.Combine(AppContext.BaseDirectory, "Demo", "directory.json");
        store.Import(demo, connectionString);
        var file = DirectoryParser.Parse(demo, await File.ReadAllBytesAsync(demo));
        var options = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Gateway:Locator:Sql").Get<SqlLocatorOptions>()!;
        using var sql = new SqlDirectory(options, store.Topology.Folder);
        var servers = await sql.ServersAsync(problem => Assert.Fail(problem), CancellationToken.None);
        Assert.Equal(file.Servers.Select(s => (s.Fqdn, s.UmEndpoint)), servers.Select(s => (s.Fqdn, s.UmEndpoint)));
        Assert.All(servers, s => Assert.NotNull(s.UmEndpoint));
        var addresses = new List<VoiceAddress>();
        foreach (var address in (string[])["alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com"])
        {
            var voice = file.FindByAddress(address)!.Voice!;
            addresses.Add(new VoiceAddress(VoiceAddressKind.Extension, voice.UmExtension!));
            if (voice.SipAddress is { } sip)
            {
                addresses.Add(new VoiceAddress(VoiceAddressKind.SipAddress, sip.ToUpperInvariant()));
            }
            if (voice.E164 is { } e164)
            {
                addresses.Add(new VoiceAddress(VoiceAddressKind.E164, e164));
            }
        }
        Assert.True(addresses.Count >= 6, $"only {addresses.Count} telephone identities in the demo directory");
        addresses.Add(new VoiceAddress(VoiceAddressKind.E164, "+" + addresses[0].Value));
        addresses.Add(new VoiceAddress(VoiceAddressKind.Extension, "9999"));
        foreach (var address in addresses)
        {
            var expected = file.FindVoiceUser(address with { Value = address.Kind == VoiceAddressKind.SipAddress ? address.Value.ToLowerInvariant() : address.Value });
            Assert.Equal(expected?.PrimarySmtpAddress, (await sql.FindVoiceUserAsync(address, CancellationToken.None))?.PrimarySmtpAddress);
        }
    }
}

public sealed class SqliteSipTests(SipStoreFixture<SqliteStoreFixture> fixture, ITestOutputHelper output)
    : SqlSipTests<SqliteStoreFixture>(fixture, output);

public sealed class PostgresSipTests(SipStoreFixture<PostgresStoreFixture> fixture, ITestOutputHelper output)
    : SqlSipTests<PostgresStoreFixture>(fixture, output);
