namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>
/// A private PostgreSQL 15 cluster (Debian <c>postgresql</c>, see the shared PostgreSQL recipe): initdb and pg_ctl
/// as user postgres in a short temp folder (the socket path must stay under 107 bytes), TCP on a free loopback
/// port with password authentication. Stopped with <c>pg_ctl stop -m fast</c> and removed at the end.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    public const string Password = "supersecret";
    private const string Bin = "/usr/lib/postgresql/15/bin";

    private PostgresCluster(string folder, int port)
    {
        Folder = folder;
        Port = port;
    }

    public string Folder { get; }

    public int Port { get; }

    private string Data => Path.Combine(Folder, "data");

    /// <summary>Connection string for the gateway (without the password: that goes in its own setting).</summary>
    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Database={database};Username=postgres;Pooling=true";

    public static async Task<PostgresCluster> CreateAsync()
    {
        var folder = Directory.CreateTempSubdirectory("pg.").FullName;
        await ExternalProgram.RunAsync("chown", ["postgres:postgres", folder]);
        var password = Path.Combine(folder, "pw");
        File.WriteAllText(password, Password + "\n");
        await ExternalProgram.RunAsync("chown", ["postgres", password]);
        var cluster = new PostgresCluster(folder, ExternalProgram.FreePort());
        await AsPostgres($"{Bin}/initdb", "-D", cluster.Data, "-U", "postgres", $"--pwfile={password}",
            "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        await cluster.StartAsync();
        return cluster;
    }

    public Task StartAsync()
        => AsPostgres($"{Bin}/pg_ctl", "-D", Data, "-w", "-t", "30", "-l", Path.Combine(Folder, "pg.log"),
            "-o", $"-p {Port} -k {Folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start");

    public Task StopAsync() => AsPostgres($"{Bin}/pg_ctl", "-D", Data, "-m", "fast", "-w", "stop");

    /// <summary>Runs SQL as the superuser over TCP (psql, stopping at the first error).</summary>
    public Task<string> SqlAsync(string database, string sql)
        => ExternalProgram.RunAsync("env", [$"PGPASSWORD={Password}", "psql", $"host=127.0.0.1 port={Port} user=postgres dbname={database}", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(Folder, recursive: true);
    }

    private static Task<string> AsPostgres(params string[] command) => ExternalProgram.RunAsync("runuser", ["-u", "postgres", "--", .. command]);
}
