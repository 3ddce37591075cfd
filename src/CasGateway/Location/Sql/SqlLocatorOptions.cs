using System.ComponentModel.DataAnnotations;

namespace CasGateway.Location.Sql;

/// <summary><c>Gateway:Locator:Sql</c>: the directory in a SQL database (see docs/directory.md).</summary>
public sealed class SqlLocatorOptions
{
    /// <summary>The engine: <c>Sqlite</c> (an embedded file on this node) or <c>PostgreSql</c> (shared by every node).</summary>
    [AllowedValues(SqlProviders.Sqlite, SqlProviders.PostgreSql)]
    public string Provider { get; set; } = SqlProviders.Sqlite;

    /// <summary>
    /// ADO.NET connection string: for SQLite <c>Data Source=directory.db</c> (relative to the content root), for
    /// PostgreSQL <c>Host=db1;Database=casgateway;Username=casgw</c>. Required when the kind is <c>Sql</c>.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>PostgreSQL password, kept out of the connection string so it can come from a secret store.</summary>
    public string? Password { get; set; }

    /// <summary>Bound on one query (the locator's resilience timeout bounds the whole lookup too).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the directory's change version is read; a change empties the location cache.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ChangePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>What is wrong with these settings when the kind is <c>Sql</c> (keys under <paramref name="path"/>).</summary>
    public IEnumerable<string> Problems(string path)
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return $"{path}:ConnectionString: required when {LocatorOptions.Section}:Kind is Sql (e.g. \"Data Source=directory.db\").";
            yield break;
        }
        string? problem;
        try
        {
            problem = string.Equals(Provider, SqlProviders.PostgreSql, StringComparison.OrdinalIgnoreCase)
                ? (string.IsNullOrEmpty(new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString).Host) ? "names no Host" : null)
                : (string.IsNullOrEmpty(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(ConnectionString).DataSource) ? "names no Data Source" : null);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            problem = "is not valid: " + ex.Message;
        }
        if (problem is not null)
        {
            yield return $"{path}:ConnectionString: the {Provider} connection string {problem}.";
        }
    }
}

/// <summary>The engines <see cref="SqlLocatorOptions.Provider"/> names.</summary>
public static class SqlProviders
{
    public const string Sqlite = "Sqlite";
    public const string PostgreSql = "PostgreSql";
}
