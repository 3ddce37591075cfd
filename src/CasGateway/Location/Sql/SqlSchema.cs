namespace CasGateway.Location.Sql;

/// <summary>
/// The directory's tables, the same for SQLite and PostgreSQL (text GUIDs, lower-cased address keys), and the
/// change version every write bumps through triggers: one row the gateway polls instead of the data.
/// </summary>
internal static class SqlSchema
{
    /// <summary>The tables whose writes bump <c>directory_version</c>.</summary>
    private static readonly string[] Tables = ["sites", "servers", "databases", "database_copies", "mailboxes", "mailbox_addresses", "offline_address_books", "voice_addresses"];

    private const string TableDefinitions = """
        CREATE TABLE IF NOT EXISTS directory_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
        INSERT INTO directory_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS sites (name TEXT PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS servers (
            fqdn TEXT PRIMARY KEY,
            site TEXT NOT NULL REFERENCES sites (name),
            version TEXT NOT NULL,
            backend_url TEXT NOT NULL,
            imap_endpoint TEXT,
            pop_endpoint TEXT,
            front_end BOOLEAN NOT NULL DEFAULT FALSE,
            external_url TEXT,
            um_endpoint TEXT);
        CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY, guid TEXT NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS database_copies (
            database_name TEXT NOT NULL REFERENCES databases (name) ON DELETE CASCADE,
            server TEXT NOT NULL REFERENCES servers (fqdn),
            active BOOLEAN NOT NULL,
            PRIMARY KEY (database_name, server));
        CREATE UNIQUE INDEX IF NOT EXISTS database_copies_one_active ON database_copies (database_name) WHERE active;
        CREATE TABLE IF NOT EXISTS mailboxes (
            guid TEXT PRIMARY KEY,
            primary_smtp_address TEXT NOT NULL,
            database_name TEXT REFERENCES databases (name),
            display_name TEXT,
            password_hash TEXT,
            cloud_target_address TEXT,
            object_id TEXT);
        CREATE TABLE IF NOT EXISTS mailbox_addresses (
            address_key TEXT PRIMARY KEY,
            address TEXT NOT NULL,
            mailbox_guid TEXT NOT NULL REFERENCES mailboxes (guid) ON DELETE CASCADE,
            position INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS mailbox_addresses_by_mailbox ON mailbox_addresses (mailbox_guid);
        CREATE TABLE IF NOT EXISTS offline_address_books (
            guid TEXT PRIMARY KEY,
            name TEXT,
            mailbox_guid TEXT NOT NULL REFERENCES mailboxes (guid) ON DELETE CASCADE);
        CREATE TABLE IF NOT EXISTS voice_addresses (
            kind TEXT NOT NULL CHECK (kind IN ('um_extension', 'sip_address', 'e164')),
            address TEXT NOT NULL,
            mailbox_guid TEXT NOT NULL REFERENCES mailboxes (guid) ON DELETE CASCADE,
            PRIMARY KEY (kind, address),
            CHECK (kind <> 'sip_address' OR address = lower(address)));
        CREATE INDEX IF NOT EXISTS voice_addresses_by_mailbox ON voice_addresses (mailbox_guid);
        """;

    /// <summary>
    /// Columns added after the first release, as (table, column, type): <c>directory init</c> (and import) adds each
    /// one a database made by an older version lacks.
    /// </summary>
    public static readonly (string Table, string Column, string Type)[] AddedColumns = [("servers", "um_endpoint", "TEXT"), ("mailboxes", "object_id", "TEXT")];

    /// <summary>
    /// Indexes on <see cref="AddedColumns"/>, created after them (an older database has the table but not yet the
    /// column). <c>mailboxes.object_id</c>: the owner's Entra ID object id (a bearer token's <c>oid</c>), at most one
    /// mailbox each; mailboxes without one (NULL) do not collide.
    /// </summary>
    public static readonly string[] AddedIndexes = ["CREATE UNIQUE INDEX IF NOT EXISTS mailboxes_by_object_id ON mailboxes (object_id)"];

    /// <summary>The <c>voice_addresses.kind</c> of each kind of telephone identity.</summary>
    public static string VoiceKind(VoiceAddressKind kind) => kind switch
    {
        VoiceAddressKind.Extension => "um_extension",
        VoiceAddressKind.SipAddress => "sip_address",
        _ => "e164",
    };

    /// <summary>The statements that create the schema (idempotent: running them again changes nothing).</summary>
    public static IEnumerable<string> Statements(bool postgres)
    {
        if (!postgres)
        {
            // Readers never wait for an import or an edit.
            yield return "PRAGMA journal_mode = WAL";
        }
        yield return TableDefinitions;
        if (postgres)
        {
            yield return """
                CREATE OR REPLACE FUNCTION casgateway_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$
                """;
            foreach (var table in Tables)
            {
                yield return $"CREATE OR REPLACE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION casgateway_directory_changed()";
            }
            yield break;
        }
        foreach (var (_, create) in SqliteTriggers())
        {
            yield return create;
        }
    }

    /// <summary>Bumps the change version once (what every trigger does).</summary>
    public const string BumpVersion = "UPDATE directory_version SET version = version + 1 WHERE id = 1";

    /// <summary>
    /// SQLite's change triggers: SQLite has no statement triggers, so each fires for every row — an import drops them
    /// inside its transaction and bumps the version once instead (PostgreSQL's fire once per statement and stay).
    /// </summary>
    public static IEnumerable<(string Name, string Create)> SqliteTriggers()
    {
        foreach (var table in Tables)
        {
            foreach (var operation in (string[])["INSERT", "UPDATE", "DELETE"])
            {
                var name = $"{table}_{operation.ToLowerInvariant()}_changed";
                yield return (name, $"CREATE TRIGGER IF NOT EXISTS {name} AFTER {operation} ON {table} BEGIN {BumpVersion}; END");
            }
        }
    }
}
