using System.Data.Common;
using System.Text.Json;
using CasGateway.Location.Sql;
using CasGateway.Routing;
using CasGateway.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>The SQL store: the topology's directory file loaded with <c>directory import</c>, edited with plain SQL.</summary>
public abstract class SqlStoreFixture : DirectoryStoreFixture
{
    public abstract string Provider { get; }

    /// <summary>A connection string for a new, empty database called <paramref name="name"/>.</summary>
    public abstract Task<string> CreateDatabaseAsync(string name);

    /// <summary>Settings that select the SQL store on <paramref name="connectionString"/>.</summary>
    public virtual Dictionary<string, string?> SqlSettings(string connectionString) => new()
    {
        ["Gateway:Locator:Kind"] = "Sql",
        ["Gateway:Locator:Sql:Provider"] = Provider,
        ["Gateway:Locator:Sql:ConnectionString"] = connectionString,
        ["Gateway:Locator:Sql:ChangePollInterval"] = "00:00:00.200",
    };

    protected string ConnectionString { get; private set; } = "";

    public override Dictionary<string, string?> StoreSettings() => SqlSettings(ConnectionString);

    /// <summary>Runs <c>directory import FILE</c> into the database, as an admin would; returns what it printed.</summary>
    public string Import(string file, string connectionString)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var settings = SqlSettings(connectionString).Where(kv => kv.Key.StartsWith("Gateway:Locator:Sql:", StringComparison.Ordinal)).Select(kv => $"--{kv.Key}={kv.Value}");
        var exit = SqlDirectoryCommands.Run(["import", file, .. settings], output, error);
        Assert.True(exit == 0, $"directory import exited with {exit}: {error}");
        return output.ToString();
    }

    public override async Task MoveDatabaseAsync(string database, string server)
    {
        Topology.Directory.Activate(database, server);
        await using var connection = OpenConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var sql in (string[])["UPDATE database_copies SET active = FALSE WHERE database_name = @db", "UPDATE database_copies SET active = TRUE WHERE database_name = @db AND server = @server"])
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            foreach (var (name, value) in new[] { ("db", database), ("server", server) }.Where(p => sql.Contains("@" + p.Item1, StringComparison.Ordinal)))
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value;
                command.Parameters.Add(parameter);
            }
            await command.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    protected override async Task StartStoreAsync()
    {
        ConnectionString = await CreateDatabaseAsync("casgw");
        var printed = Import(Topology.Directory.Path, ConnectionString);
        Assert.Contains("Imported 4 mailboxes, 2 databases and 2 servers", printed);
    }

    protected abstract DbConnection OpenConnection(string connectionString);

    /// <summary>Runs <paramref name="sql"/> on the database and returns the first column of its first row as a number (0 for none).</summary>
    public async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = OpenConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed class SqliteStoreFixture : SqlStoreFixture
{
    public override string Provider => SqlProviders.Sqlite;

    public override string StoreName => "Sql Sqlite casgw.db";

    private string DatabaseFile => Path.Combine(Topology.Folder, "casgw.db");

    /// <summary>Without pooling, so that a connection opened while the file is moved away cannot outlive the outage.</summary>
    public override Task<string> CreateDatabaseAsync(string name) => Task.FromResult($"Data Source={Path.Combine(Topology.Folder, name + ".db")};Pooling=False");

    /// <summary>An embedded database cannot stop: it is moved away (with its WAL files), so opening it finds no tables.</summary>
    public override Task TakeDownAsync()
    {
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            if (File.Exists(DatabaseFile + suffix))
            {
                File.Move(DatabaseFile + suffix, DatabaseFile + suffix + ".away");
            }
        }
        return Task.CompletedTask;
    }

    public override Task BringBackAsync()
    {
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(DatabaseFile + suffix);
            if (File.Exists(DatabaseFile + suffix + ".away"))
            {
                File.Move(DatabaseFile + suffix + ".away", DatabaseFile + suffix);
            }
        }
        return Task.CompletedTask;
    }

    protected override Task StopStoreAsync()
    {
        SqliteConnection.ClearAllPools();
        return Task.CompletedTask;
    }

    protected override DbConnection OpenConnection(string connectionString) => new SqliteConnection(connectionString);
}

public sealed class PostgresStoreFixture : SqlStoreFixture
{
    private PostgresCluster _cluster = null!;

    public override string Provider => SqlProviders.PostgreSql;

    public override string StoreName => $"Sql PostgreSql 127.0.0.1:{_cluster.Port}/casgw";

    public override Dictionary<string, string?> SqlSettings(string connectionString)
    {
        var settings = base.SqlSettings(connectionString);
        settings["Gateway:Locator:Sql:Password"] = PostgresCluster.Password;
        return settings;
    }

    public override async Task<string> CreateDatabaseAsync(string name)
    {
        await _cluster.SqlAsync("postgres", $"CREATE DATABASE {name}");
        return _cluster.ConnectionString(name);
    }

    public override Task TakeDownAsync() => _cluster.StopAsync();

    /// <summary>Restarts the cluster and drops pooled connections the restart killed (the tests' own edits use the pool too).</summary>
    public override async Task BringBackAsync()
    {
        await _cluster.StartAsync();
        NpgsqlConnection.ClearAllPools();
    }

    protected override async Task StartStoreAsync()
    {
        _cluster = await PostgresCluster.CreateAsync();
        await base.StartStoreAsync();
    }

    protected override async Task StopStoreAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await _cluster.DisposeAsync();
    }

    protected override DbConnection OpenConnection(string connectionString)
        => new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Password = PostgresCluster.Password }.ConnectionString);
}

/// <summary>Issue 18: the SQL store (both engines) — the shared behaviour, and the same routing as the File store.</summary>
public abstract class SqlDirectoryTests<TFixture>(TFixture store) : DirectoryStoreTests<TFixture>(store)
    where TFixture : SqlStoreFixture
{
    [Fact]
    public async Task Imported_directories_route_exactly_like_the_file_store()
    {
        var rich = RichDirectory();
        foreach (var file in (string[])[Path.Combine(AppContext.BaseDirectory, "Demo", "directory.json"), rich])
        {
            var connection = await Store.CreateDatabaseAsync("parity" + Guid.NewGuid().ToString("N")[..8]);
            Store.Import(file, connection);
            await using var fromFile = await TestGateway.StartAsync(Topology, new Dictionary<string, string?> { ["Gateway:Locator:File:Path"] = file });
            await using var fromSql = await TestGateway.StartAsync(Topology, Store.SqlSettings(connection));

            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var questions = new List<(string Url, string User)> { ("/owa/", "nobody@contoso.com") };
            foreach (var mailbox in document.RootElement.GetProperty("mailboxes").EnumerateArray())
            {
                var primary = mailbox.GetProperty("primarySmtpAddress").GetString()!;
                questions.Add(("/owa/", primary));
                questions.Add(("/mapi/emsmdb/", $"{mailbox.GetProperty("guid").GetString()}@contoso.com"));
                questions.AddRange(mailbox.GetProperty("aliases").EnumerateArray().Select(a => ("/EWS/Exchange.asmx", a.GetString()!)));
            }
            if (document.RootElement.TryGetProperty("offlineAddressBooks", out var oabs))
            {
                questions.AddRange(oabs.EnumerateArray().Select(o => ($"/OAB/{o.GetProperty("guid").GetString()}/oab.xml", "bob@contoso.com")));
            }
            Assert.True(questions.Count >= 10, $"only {questions.Count} questions");
            foreach (var (url, user) in questions)
            {
                // Asked again until both agree or 10 s pass: each gateway's first health probe of a front end lands at its own moment.
                var (expected, actual) = await RequestPath.RequestPathTests.PollAsync(
                    async () => (await ExplainAsync(fromFile, url, user), await ExplainAsync(fromSql, url, user)), p => p.Item1 == p.Item2, TimeSpan.FromSeconds(10));
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public async Task Directory_init_adds_the_object_id_column_to_an_older_database_and_import_carries_it()
    {
        var connection = await Store.CreateDatabaseAsync("objectid" + Guid.NewGuid().ToString("N")[..8]);
        var arguments = Store.SqlSettings(connection).Where(kv => kv.Key.StartsWith("Gateway:Locator:Sql:", StringComparison.Ordinal)).Select(kv => $"--{kv.Key}={kv.Value}").ToArray();
        using (var printed = new StringWriter())
        using (var error = new StringWriter())
        {
            Assert.True(SqlDirectoryCommands.Run(["init", .. arguments], printed, error) == 0, error.ToString());
        }
        // What a database made before bearer tokens mapped through SQL looks like.
        await Store.ScalarAsync(connection, "DROP INDEX mailboxes_by_object_id");
        await Store.ScalarAsync(connection, "ALTER TABLE mailboxes DROP COLUMN object_id");

        Store.Import(Topology.Directory.Path, connection);
        var options = new ConfigurationBuilder().AddInMemoryCollection(Store.SqlSettings(connection)).Build()
            .GetSection("Gateway:Locator:Sql").Get<SqlLocatorOptions>()!;
        using var directory = new SqlDirectory(options, Topology.Folder);
        foreach (var owner in (string[])["alice@contoso.com", "bob@contoso.com", "frank@contoso.com"])
        {
            var found = await directory.FindByObjectIdAsync(TestDirectory.ObjectIdOf(owner), CancellationToken.None);
            Assert.Equal((owner, Topology.Directory.Mailbox(owner).Guid), (found?.PrimarySmtpAddress, found?.Guid));
        }
        Assert.Null(await directory.FindByObjectIdAsync(Guid.NewGuid(), CancellationToken.None));
        Assert.Equal(4, await Store.ScalarAsync(connection, "SELECT COUNT(object_id) FROM mailboxes"));
        // One mailbox per object id: the unique index is there again.
        var alice = TestDirectory.ObjectIdOf("alice@contoso.com").ToString("D");
        await Assert.ThrowsAnyAsync<DbException>(() => Store.ScalarAsync(connection, $"UPDATE mailboxes SET object_id = '{alice}' WHERE primary_smtp_address = 'bob@contoso.com'"));
    }

    [Fact]
    public async Task An_object_id_edited_in_sql_is_followed_by_bearer_sign_in()
    {
        await using var issuer = await OidcServer.StartAsync();
        var settings = issuer.GatewaySettings();
        settings["Gateway:Locator:File:Path"] = "";
        await using var gateway = await StartGatewayAsync(settings);
        using var client = gateway.CreateClient();
        var connection = Store.StoreSettings()["Gateway:Locator:Sql:ConnectionString"]!;
        var newId = Guid.NewGuid();
        var token = issuer.IssueToken("bob@contoso.com", objectId: newId);
        Assert.Equal("Forbidden", await MailboxOfAsync(client, token));

        // Bob's account is re-created in the tenant: his new object id is written to the store.
        await Store.ScalarAsync(connection, $"UPDATE mailboxes SET object_id = '{newId:D}' WHERE primary_smtp_address = 'bob@contoso.com'");
        try
        {
            var followed = await RequestPath.RequestPathTests.PollAsync(() => MailboxOfAsync(client, token), m => m == "bob@contoso.com", TimeSpan.FromSeconds(10));
            Assert.Equal("bob@contoso.com", followed);
            var old = issuer.IssueToken("bob@contoso.com");
            var refused = await RequestPath.RequestPathTests.PollAsync(() => MailboxOfAsync(client, old), m => m == "Forbidden", TimeSpan.FromSeconds(10));
            Assert.Equal("Forbidden", refused);
        }
        finally
        {
            await Store.ScalarAsync(connection,
                $"UPDATE mailboxes SET object_id = '{TestDirectory.ObjectIdOf("bob@contoso.com"):D}' WHERE primary_smtp_address = 'bob@contoso.com'");
        }
    }

    /// <summary>The mailbox a bearer token reached, or the status when it reached none.</summary>
    private static async Task<string> MailboxOfAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode == System.Net.HttpStatusCode.OK ? (await response.ReadAnswerAsync()).Mailbox : response.StatusCode.ToString();
    }

    [Fact]
    public async Task A_repeated_import_replaces_every_row_moves_the_change_version_and_later_edits_still_move_it()
    {
        var connection = await Store.CreateDatabaseAsync("reimport" + Guid.NewGuid().ToString("N")[..8]);
        const string Version = "SELECT version FROM directory_version WHERE id = 1";
        Store.Import(Topology.Directory.Path, connection);
        var first = await Store.ScalarAsync(connection, Version);
        Assert.Equal(4, await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM mailboxes"));

        // The rich directory: 4 mailboxes again, but other ones, with 2 aliases, 3 servers and 3 databases (4 copies).
        Store.Import(RichDirectory(), connection);
        var second = await Store.ScalarAsync(connection, Version);
        Assert.True(second > first, $"the change version stayed at {first} through an import");
        Assert.Equal((4L, 6L, 3L, 3L, 4L, 1L), (
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM mailboxes"),
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM mailbox_addresses"),
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM servers"),
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM databases"),
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM database_copies"),
            await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM offline_address_books")));
        Assert.Equal(0, await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM mailbox_addresses WHERE address_key = 'carol@contoso.com'"));
        Assert.Equal(1, await Store.ScalarAsync(connection, "SELECT COUNT(*) FROM mailbox_addresses a JOIN mailboxes m ON m.guid = a.mailbox_guid WHERE a.address_key = 'alice.two@contoso.com' AND m.primary_smtp_address = 'alice@contoso.com'"));

        // An edit after the import moves the version: the change triggers are in place.
        await Store.ScalarAsync(connection, "UPDATE servers SET version = '15.2.1544.5' WHERE fqdn = 'mbx1.contoso.com'");
        Assert.True(await Store.ScalarAsync(connection, Version) > second, "an edit after an import did not move the change version");
    }

    private static Task<ExplainAnswer> ExplainAsync(TestGateway gateway, string path, string user)
        => gateway.GetRequiredService<RouteExplainer>().ExplainAsync(
            new ExplainRequest("GET", new Uri(gateway.BaseAddress, path).ToString(), null, user), CancellationToken.None);

    /// <summary>A directory with what the demo lacks: sites and versions, a legacy front end, a cloud mailbox, an OAB.</summary>
    private string RichDirectory()
    {
        var directory = new TestDirectory(Path.Combine(Topology.Folder, "rich-" + Guid.NewGuid().ToString("N")[..8] + ".json"));
        directory.Servers.Add(("mbx1.contoso.com", "Site1", "15.2.1544.4", new Uri("https://mbx1.contoso.com:444/")));
        directory.Servers.Add(("mbx3.contoso.com", "Site2", "15.1.2507.6", new Uri("https://mbx3.contoso.com:444/")));
        directory.Servers.Add(("ex2010.contoso.com", "Site2", "14.3.513.0", new Uri("https://ex2010.contoso.com/")));
        directory.FrontEnds["ex2010.contoso.com"] = new Uri("https://legacy.contoso.com/");
        directory.MailEndpoints["mbx1.contoso.com"] = ("mbx1.contoso.com:993", "mbx1.contoso.com:995");
        directory.Databases.Add(("DB01", Guid.NewGuid(), ["mbx1.contoso.com", "mbx3.contoso.com"], "mbx1.contoso.com"));
        directory.Databases.Add(("DB03", Guid.NewGuid(), ["mbx3.contoso.com"], "mbx3.contoso.com"));
        directory.Databases.Add(("DB10", Guid.NewGuid(), ["ex2010.contoso.com"], "ex2010.contoso.com"));
        directory.AddMailbox("alice@contoso.com", "DB01", true, "alice.smith@contoso.com", "Alice.Two@Contoso.com");
        directory.AddMailbox("bob@contoso.com", "DB03");
        directory.AddMailbox("old@contoso.com", "DB10");
        directory.AddMailbox("cloud@contoso.com", "DB01");
        directory.CloudMailboxes["cloud@contoso.com"] = "cloud@contoso.mail.onmicrosoft.com";
        directory.OfflineAddressBooks[Guid.NewGuid()] = "alice@contoso.com";
        directory.Save();
        return directory.Path;
    }
}

public sealed class SqliteDirectoryTests(SqliteStoreFixture store) : SqlDirectoryTests<SqliteStoreFixture>(store);

public sealed class PostgresDirectoryTests(PostgresStoreFixture store) : SqlDirectoryTests<PostgresStoreFixture>(store);
