using System.Data.Common;
using System.Globalization;
using CasGateway.Anchoring;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CasGateway.Location.Sql;

/// <summary>A mailbox row: the mailbox and its password hash (null when it has none).</summary>
internal sealed record SqlMailbox(Mailbox Mailbox, string? PasswordHash);

/// <summary>
/// The directory's SQL database (SQLite or PostgreSQL through ADO.NET): indexed lookups by address, mailbox GUID or
/// offline address book, the small server list, the change version, and the schema commands. Every failure to
/// reach or read the database surfaces as <see cref="LocatorUnavailableException"/>.
/// </summary>
internal sealed class SqlDirectory : IDisposable
{
    /// <summary>Bound on each statement of an import (a million rows are deleted, then written, in one statement each).</summary>
    private const int ImportTimeoutSeconds = 3600;

    private readonly DbDataSource _source;
    private readonly int _commandTimeout;

    public SqlDirectory(SqlLocatorOptions options, string contentRoot)
    {
        IsPostgres = string.Equals(options.Provider, SqlProviders.PostgreSql, StringComparison.OrdinalIgnoreCase);
        _commandTimeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds);
        if (IsPostgres)
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            if (options.Password is { Length: > 0 } password)
            {
                builder.Password = password;
            }
            Description = $"Sql PostgreSql {builder.Host}:{builder.Port}/{builder.Database}";
            _source = NpgsqlDataSource.Create(builder);
        }
        else
        {
            var builder = new SqliteConnectionStringBuilder(options.ConnectionString);
            builder.DataSource = Path.GetFullPath(builder.DataSource, contentRoot);
            Description = $"Sql Sqlite {Path.GetFileName(builder.DataSource)}";
            _source = SqliteFactory.Instance.CreateDataSource(builder.ConnectionString);
        }
    }

    public SqlDirectory(Microsoft.Extensions.Options.IOptions<LocatorOptions> options, IHostEnvironment environment)
        : this(options.Value.Sql, environment.ContentRootPath)
    {
    }

    public bool IsPostgres { get; }

    /// <summary>Engine and database, without credentials.</summary>
    public string Description { get; }

    public void Dispose() => _source.Dispose();

    /// <summary>Creates the tables, indexes and change triggers if they are missing.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        foreach (var statement in SqlSchema.Statements(IsPostgres))
        {
            await ExecuteAsync(connection, null, statement, cancellationToken);
        }
        foreach (var (table, column, type) in SqlSchema.AddedColumns)
        {
            if (IsPostgres)
            {
                await ExecuteAsync(connection, null, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {type}", cancellationToken);
                continue;
            }
            // SQLite has no ADD COLUMN IF NOT EXISTS: look first.
            await using var exists = Command(connection, "SELECT COUNT(*) FROM pragma_table_info(@table) WHERE name = @column");
            Parameter(exists, "table", table);
            Parameter(exists, "column", column);
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                await ExecuteAsync(connection, null, $"ALTER TABLE {table} ADD COLUMN {column} {type}", cancellationToken);
            }
        }
        foreach (var index in SqlSchema.AddedIndexes)
        {
            await ExecuteAsync(connection, null, index, cancellationToken);
        }
    }

    /// <summary>The change version: it moves on every write to the directory's tables.</summary>
    public Task<long> VersionAsync(CancellationToken cancellationToken)
        => Guarded(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection, "SELECT version FROM directory_version WHERE id = 1");
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken) ?? 0L, CultureInfo.InvariantCulture);
        });

    /// <summary>Every mailbox server (a few hundred rows at most: read whole).</summary>
    public Task<IReadOnlyList<MailboxServer>> ServersAsync(Action<string> badRow, CancellationToken cancellationToken)
        => Guarded<IReadOnlyList<MailboxServer>>(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection,
                "SELECT fqdn, site, version, backend_url, imap_endpoint, pop_endpoint, front_end, external_url, um_endpoint FROM servers ORDER BY fqdn");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var servers = new List<MailboxServer>();
            while (await reader.ReadAsync(cancellationToken))
            {
                var errors = new List<string>();
                var fqdn = reader.GetString(0);
                var imap = DirectoryParser.ParseEndpoint(Text(reader, 4), "imap_endpoint", errors);
                var pop = DirectoryParser.ParseEndpoint(Text(reader, 5), "pop_endpoint", errors);
                var um = DirectoryParser.ParseEndpoint(Text(reader, 8), "um_endpoint", errors);
                Uri? external = null;
                if (!Version.TryParse(reader.GetString(2), out var version)
                    || !Uri.TryCreate(reader.GetString(3), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
                    || (Text(reader, 7) is { } externalText && !Uri.TryCreate(externalText, UriKind.Absolute, out external))
                    || errors.Count > 0)
                {
                    badRow($"servers row '{fqdn}': version, backend_url, external_url or an endpoint is malformed {string.Join("; ", errors)}");
                    continue;
                }
                servers.Add(new MailboxServer(fqdn, reader.GetString(1), version, url)
                {
                    ImapEndpoint = imap,
                    PopEndpoint = pop,
                    IsFrontEnd = reader.GetBoolean(6),
                    ExternalUrl = external,
                    UmEndpoint = um,
                });
            }
            return servers;
        });

    /// <summary>The mailbox an anchor names, by one indexed lookup (plus its aliases), or null.</summary>
    public Task<SqlMailbox?> FindMailboxAsync(AnchorMailbox anchor, CancellationToken cancellationToken)
        // No address holds a control character (PostgreSQL would even refuse a NUL as an error, not a miss).
        => anchor.Kind == AnchorKind.Smtp && anchor.Address.Any(char.IsControl) ? Task.FromResult<SqlMailbox?>(null) : Guarded(async () =>
        {
            const string Columns = "m.guid, m.primary_smtp_address, m.database_name, m.display_name, m.password_hash, m.cloud_target_address";
            await using var connection = await OpenAsync(cancellationToken);
            await using var find = anchor.Kind switch
            {
                AnchorKind.MailboxGuid => Command(connection, $"SELECT {Columns} FROM mailboxes m WHERE m.guid = @key"),
                AnchorKind.OfflineAddressBook => Command(connection,
                    $"SELECT {Columns} FROM offline_address_books o JOIN mailboxes m ON m.guid = o.mailbox_guid WHERE o.guid = @key"),
                _ => Command(connection, $"SELECT {Columns} FROM mailbox_addresses a JOIN mailboxes m ON m.guid = a.mailbox_guid WHERE a.address_key = @key"),
            };
            Parameter(find, "key", anchor.Kind == AnchorKind.Smtp ? AddressKey(anchor.Address) : GuidText(anchor.MailboxGuid));
            string guid;
            Mailbox mailbox;
            string? hash;
            await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return null;
                }
                guid = reader.GetString(0);
                mailbox = new Mailbox(Guid.Parse(guid), reader.GetString(1), [], Text(reader, 2), Text(reader, 3)) { CloudTargetAddress = Text(reader, 5) };
                hash = Text(reader, 4);
            }
            await using var aliases = Command(connection, "SELECT address, address_key FROM mailbox_addresses WHERE mailbox_guid = @guid ORDER BY position");
            Parameter(aliases, "guid", guid);
            var list = new List<string>();
            await using (var reader = await aliases.ExecuteReaderAsync(cancellationToken))
            {
                var primary = AddressKey(mailbox.PrimarySmtpAddress);
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (reader.GetString(1) != primary)
                    {
                        list.Add(reader.GetString(0));
                    }
                }
            }
            return new SqlMailbox(mailbox with { Aliases = list }, hash);
        });

    /// <summary>The mailbox an extension, SIP address or E.164 number belongs to (one indexed lookup), or null.</summary>
    public Task<Mailbox?> FindVoiceUserAsync(VoiceAddress address, CancellationToken cancellationToken)
        // As for addresses: no identity holds a control character, and PostgreSQL would refuse a NUL as an error.
        => address.Value.Any(char.IsControl) ? Task.FromResult<Mailbox?>(null) : Guarded(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var find = Command(connection,
                "SELECT m.guid, m.primary_smtp_address, m.database_name, m.display_name, m.cloud_target_address FROM voice_addresses v "
                + "JOIN mailboxes m ON m.guid = v.mailbox_guid WHERE v.kind = @kind AND v.address = @address");
            Parameter(find, "kind", SqlSchema.VoiceKind(address.Kind));
            Parameter(find, "address", address.Kind == VoiceAddressKind.SipAddress ? address.Value.ToLowerInvariant() : address.Value);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new Mailbox(Guid.Parse(reader.GetString(0)), reader.GetString(1), [], Text(reader, 2), Text(reader, 3)) { CloudTargetAddress = Text(reader, 4) }
                : null;
        });

    /// <summary>The mailbox whose owner has this Entra ID object id (one indexed lookup on <c>object_id</c>), or null.</summary>
    public Task<Mailbox?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken)
        => Guarded(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var find = Command(connection,
                "SELECT guid, primary_smtp_address, database_name, display_name, cloud_target_address FROM mailboxes WHERE object_id = @objectId");
            Parameter(find, "objectId", GuidText(objectId));
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new Mailbox(Guid.Parse(reader.GetString(0)), reader.GetString(1), [], Text(reader, 2), Text(reader, 3)) { CloudTargetAddress = Text(reader, 4), ObjectId = objectId }
                : null;
        });

    /// <summary>A database, its copies and the active one, resolved against <paramref name="servers"/>; null if unknown.</summary>
    public Task<MailboxDatabase?> FindDatabaseAsync(string name, IReadOnlyList<MailboxServer> servers, CancellationToken cancellationToken)
        => Guarded(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection,
                "SELECT d.name, d.guid, c.server, c.active FROM databases d JOIN database_copies c ON c.database_name = d.name WHERE d.name = @name");
            Parameter(command, "name", name);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            string? found = null;
            var guid = Guid.Empty;
            MailboxServer? active = null;
            var copies = new List<MailboxServer>();
            while (await reader.ReadAsync(cancellationToken))
            {
                found = reader.GetString(0);
                guid = Guid.Parse(reader.GetString(1));
                var server = servers.FirstOrDefault(s => string.Equals(s.Fqdn, reader.GetString(2), StringComparison.OrdinalIgnoreCase));
                if (server is null)
                {
                    continue;
                }
                copies.Add(server);
                if (reader.GetBoolean(3))
                {
                    active = server;
                }
            }
            return found is null || active is null ? null : new MailboxDatabase(found, guid, active, copies);
        });

    /// <summary>
    /// Replaces the whole directory with <paramref name="document"/> (already checked) in one transaction, so readers
    /// see the old directory until the new one is complete. Rows go in bulk: PostgreSQL's binary <c>COPY</c> per table;
    /// on SQLite one prepared statement per table, rows in key order, a large page cache and the per-row change
    /// triggers replaced by one version bump.
    /// </summary>
    public async Task ImportAsync(DirectoryDocument document, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (!IsPostgres)
        {
            // 256 MB of page cache for this connection: a million-row B-tree stays in memory until the commit.
            await ExecuteAsync(connection, null, "PRAGMA cache_size = -262144", cancellationToken);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!IsPostgres)
        {
            foreach (var (name, _) in SqlSchema.SqliteTriggers())
            {
                await ExecuteAsync(connection, transaction, $"DROP TRIGGER IF EXISTS {name}", cancellationToken);
            }
        }
        foreach (var table in (string[])["voice_addresses", "offline_address_books", "mailbox_addresses", "mailboxes", "database_copies", "databases", "servers", "sites"])
        {
            await ExecuteAsync(connection, transaction, $"DELETE FROM {table}", cancellationToken, ImportTimeoutSeconds);
        }
        await ImportRowsAsync(connection, transaction, "sites", ["name"], document.Sites.Select(s => Row(s.Name)), cancellationToken);
        await ImportRowsAsync(connection, transaction, "servers", ["fqdn", "site", "version", "backend_url", "imap_endpoint", "pop_endpoint", "front_end", "external_url", "um_endpoint"],
            document.Servers.Select(s => Row(s.Fqdn, s.Site, s.Version, s.BackendUrl, s.ImapEndpoint, s.PopEndpoint, s.FrontEnd, s.ExternalUrl, s.UmEndpoint)),
            cancellationToken);
        await ImportRowsAsync(connection, transaction, "databases", ["name", "guid"], document.Databases.Select(d => Row(d.Name, GuidText(d.Guid))), cancellationToken);
        await ImportRowsAsync(connection, transaction, "database_copies", ["database_name", "server", "active"],
            document.Databases.SelectMany(d => d.Copies.Select(c => Row(d.Name, c.Server, c.Active))),
            cancellationToken);
        await ImportRowsAsync(connection, transaction, "mailboxes", ["guid", "primary_smtp_address", "database_name", "display_name", "password_hash", "cloud_target_address", "object_id"],
            document.Mailboxes
                .Select(m => (Key: GuidText(m.Guid), Mailbox: m))
                .OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => Row(m.Key, m.Mailbox.PrimarySmtpAddress, m.Mailbox.Database, m.Mailbox.DisplayName, m.Mailbox.PasswordHash, m.Mailbox.CloudTargetAddress,
                    m.Mailbox.ObjectId is { } objectId ? GuidText(objectId) : null)),
            cancellationToken);
        await ImportRowsAsync(connection, transaction, "mailbox_addresses", ["address_key", "address", "mailbox_guid", "position"],
            document.Mailboxes
                .SelectMany(m => m.Aliases.Prepend(m.PrimarySmtpAddress!).Select((a, i) => (Key: AddressKey(a), Address: a, m.Guid, Position: i)))
                .OrderBy(a => a.Key, StringComparer.Ordinal)
                .Select(a => Row(a.Key, a.Address, GuidText(a.Guid), a.Position)),
            cancellationToken);
        await ImportRowsAsync(connection, transaction, "voice_addresses", ["kind", "address", "mailbox_guid"],
            document.Mailboxes.SelectMany(VoiceRows).Select(v => Row(SqlSchema.VoiceKind(v.Address.Kind), v.Address.Value, GuidText(v.Guid))),
            cancellationToken);
        var byAddress = document.Mailboxes.ToDictionary(m => AddressKey(m.PrimarySmtpAddress!), m => m.Guid);
        await ImportRowsAsync(connection, transaction, "offline_address_books", ["guid", "name", "mailbox_guid"],
            document.OfflineAddressBooks.Select(o => Row(GuidText(o.Guid), o.Name, GuidText(byAddress[AddressKey(o.Mailbox!)]))),
            cancellationToken);
        if (!IsPostgres)
        {
            foreach (var (_, create) in SqlSchema.SqliteTriggers())
            {
                await ExecuteAsync(connection, transaction, create, cancellationToken);
            }
            await ExecuteAsync(connection, transaction, SqlSchema.BumpVersion, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        // Fresh planner statistics for the new contents (PostgreSQL would otherwise wait for autovacuum); the connection
        // goes back to the pool with SQLite's default cache.
        await ExecuteAsync(connection, null, IsPostgres ? "ANALYZE" : "PRAGMA cache_size = -2000", cancellationToken, ImportTimeoutSeconds);
    }

    /// <summary>A checked mailbox entry's telephone identities (the SIP address lower-cased, without <c>sip:</c>).</summary>
    private static IEnumerable<(VoiceAddress Address, Guid Guid)> VoiceRows(MailboxEntry mailbox)
    {
        if (mailbox.UmExtension is { } extension)
        {
            yield return (new VoiceAddress(VoiceAddressKind.Extension, extension), mailbox.Guid);
        }
        if (VoiceAddress.TryNormalizeSipAddress(mailbox.SipAddress, out var sip))
        {
            yield return (new VoiceAddress(VoiceAddressKind.SipAddress, sip), mailbox.Guid);
        }
        if (mailbox.E164 is { } e164)
        {
            yield return (new VoiceAddress(VoiceAddressKind.E164, e164), mailbox.Guid);
        }
    }

    /// <summary>Addresses compare case-insensitively: the key is the address in lower case.</summary>
    internal static string AddressKey(string address) => address.ToLowerInvariant();

    private static string GuidText(Guid guid) => guid.ToString("D");

    private static string? Text(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _source.OpenConnectionAsync(cancellationToken);

    private DbCommand Command(DbConnection connection, string text, DbTransaction? transaction = null, int? timeoutSeconds = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.CommandTimeout = timeoutSeconds ?? _commandTimeout;
        command.Transaction = transaction;
        return command;
    }

    private static void Parameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string text, CancellationToken cancellationToken, int? timeoutSeconds = null)
    {
        await using var command = Command(connection, text, transaction, timeoutSeconds);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static object?[] Row(params object?[] values) => values;

    /// <summary>Writes <paramref name="rows"/> (values in <paramref name="columns"/> order) into <paramref name="table"/>.</summary>
    private async Task ImportRowsAsync(DbConnection connection, DbTransaction transaction, string table, string[] columns, IEnumerable<object?[]> rows, CancellationToken cancellationToken)
    {
        if (connection is NpgsqlConnection postgres)
        {
            // Binary COPY inside the import's transaction: the rows stream to the server without a round trip each.
            await using var copy = await postgres.BeginBinaryImportAsync($"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", cancellationToken);
            copy.Timeout = TimeSpan.FromSeconds(ImportTimeoutSeconds);
            foreach (var row in rows)
            {
                await copy.StartRowAsync(cancellationToken);
                foreach (var value in row)
                {
                    if (value is null)
                    {
                        await copy.WriteNullAsync(cancellationToken);
                    }
                    else
                    {
                        await copy.WriteAsync(value, cancellationToken);
                    }
                }
            }
            await copy.CompleteAsync(cancellationToken);
            return;
        }
        // One prepared statement, its parameters made once and given new values for each row.
        await using var command = Command(connection, $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => "@p" + i))})", transaction, ImportTimeoutSeconds);
        var parameters = new DbParameter[columns.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            parameters[i] = command.CreateParameter();
            parameters[i].ParameterName = "p" + i;
            command.Parameters.Add(parameters[i]);
        }
        foreach (var row in rows)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i].Value = row[i] ?? DBNull.Value;
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task<T> Guarded<T>(Func<Task<T>> query)
    {
        try
        {
            return await query();
        }
        catch (Exception ex) when (ex is DbException or TimeoutException or InvalidOperationException or IOException or System.Net.Sockets.SocketException or FormatException)
        {
            throw new LocatorUnavailableException("the SQL directory failed: " + ex.Message, ex);
        }
    }
}
