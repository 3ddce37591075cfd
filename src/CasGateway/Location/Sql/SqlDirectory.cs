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

    /// <summary>Replaces the whole directory with <paramref name="document"/> (already checked) in one transaction.</summary>
    public async Task ImportAsync(DirectoryDocument document, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var table in (string[])["voice_addresses", "offline_address_books", "mailbox_addresses", "mailboxes", "database_copies", "databases", "servers", "sites"])
        {
            await ExecuteAsync(connection, transaction, $"DELETE FROM {table}", cancellationToken);
        }
        await InsertAllAsync(connection, transaction, "INSERT INTO sites (name) VALUES (@name)", document.Sites, (c, s) => Parameter(c, "name", s.Name), cancellationToken);
        await InsertAllAsync(connection, transaction,
            "INSERT INTO servers (fqdn, site, version, backend_url, imap_endpoint, pop_endpoint, front_end, external_url, um_endpoint) VALUES (@fqdn, @site, @version, @url, @imap, @pop, @front, @external, @um)",
            document.Servers,
            (c, s) =>
            {
                Parameter(c, "fqdn", s.Fqdn);
                Parameter(c, "site", s.Site);
                Parameter(c, "version", s.Version);
                Parameter(c, "url", s.BackendUrl);
                Parameter(c, "imap", s.ImapEndpoint);
                Parameter(c, "pop", s.PopEndpoint);
                Parameter(c, "front", s.FrontEnd);
                Parameter(c, "external", s.ExternalUrl);
                Parameter(c, "um", s.UmEndpoint);
            },
            cancellationToken);
        await InsertAllAsync(connection, transaction, "INSERT INTO databases (name, guid) VALUES (@name, @guid)", document.Databases,
            (c, d) =>
            {
                Parameter(c, "name", d.Name);
                Parameter(c, "guid", GuidText(d.Guid));
            },
            cancellationToken);
        await InsertAllAsync(connection, transaction, "INSERT INTO database_copies (database_name, server, active) VALUES (@name, @server, @active)",
            document.Databases.SelectMany(d => d.Copies.Select(c => (d.Name, c.Server, c.Active))),
            (c, copy) =>
            {
                Parameter(c, "name", copy.Name);
                Parameter(c, "server", copy.Server);
                Parameter(c, "active", copy.Active);
            },
            cancellationToken);
        await InsertAllAsync(connection, transaction,
            "INSERT INTO mailboxes (guid, primary_smtp_address, database_name, display_name, password_hash, cloud_target_address) VALUES (@guid, @primary, @database, @name, @hash, @cloud)",
            document.Mailboxes,
            (c, m) =>
            {
                Parameter(c, "guid", GuidText(m.Guid));
                Parameter(c, "primary", m.PrimarySmtpAddress);
                Parameter(c, "database", m.Database);
                Parameter(c, "name", m.DisplayName);
                Parameter(c, "hash", m.PasswordHash);
                Parameter(c, "cloud", m.CloudTargetAddress);
            },
            cancellationToken);
        await InsertAllAsync(connection, transaction, "INSERT INTO mailbox_addresses (address_key, address, mailbox_guid, position) VALUES (@key, @address, @guid, @position)",
            document.Mailboxes.SelectMany(m => m.Aliases.Prepend(m.PrimarySmtpAddress!).Select((a, i) => (Address: a, m.Guid, Position: i))),
            (c, a) =>
            {
                Parameter(c, "key", AddressKey(a.Address));
                Parameter(c, "address", a.Address);
                Parameter(c, "guid", GuidText(a.Guid));
                Parameter(c, "position", a.Position);
            },
            cancellationToken);
        await InsertAllAsync(connection, transaction, "INSERT INTO voice_addresses (kind, address, mailbox_guid) VALUES (@kind, @address, @guid)",
            document.Mailboxes.SelectMany(VoiceRows),
            (c, v) =>
            {
                Parameter(c, "kind", SqlSchema.VoiceKind(v.Address.Kind));
                Parameter(c, "address", v.Address.Value);
                Parameter(c, "guid", GuidText(v.Guid));
            },
            cancellationToken);
        var byAddress = document.Mailboxes.ToDictionary(m => AddressKey(m.PrimarySmtpAddress!), m => m.Guid);
        await InsertAllAsync(connection, transaction, "INSERT INTO offline_address_books (guid, name, mailbox_guid) VALUES (@guid, @name, @mailbox)",
            document.OfflineAddressBooks,
            (c, o) =>
            {
                Parameter(c, "guid", GuidText(o.Guid));
                Parameter(c, "name", o.Name);
                Parameter(c, "mailbox", GuidText(byAddress[AddressKey(o.Mailbox!)]));
            },
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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

    private DbCommand Command(DbConnection connection, string text, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.CommandTimeout = _commandTimeout;
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

    private async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string text, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, text, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>One prepared command reused for every row.</summary>
    private async Task InsertAllAsync<T>(DbConnection connection, DbTransaction transaction, string text, IEnumerable<T> rows, Action<DbCommand, T> bind, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, text, transaction);
        foreach (var row in rows)
        {
            command.Parameters.Clear();
            bind(command, row);
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
