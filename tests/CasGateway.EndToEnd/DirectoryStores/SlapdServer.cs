using System.Diagnostics;

namespace CasGateway.EndToEnd.DirectoryStores;

/// <summary>
/// A throw-away OpenLDAP slapd (Debian <c>slapd</c>, see the shared slapd recipe): its own slapd.conf, mdb database
/// and TLS certificate in a temp folder, loaded with <c>slapadd</c>, listening on loopback with LDAP (StartTLS) and
/// LDAPS. Runs as a child in the foreground logging operations (<c>-d stats</c>: the bind lines are counted), stopped
/// with SIGTERM; the folder is removed at the end.
/// </summary>
public sealed class SlapdServer : IAsyncDisposable
{
    public const string Suffix = "dc=contoso,dc=com";
    public const string AdminDn = "cn=admin,dc=contoso,dc=com";
    public const string AdminPassword = "adminpw";
    private readonly string _config;
    private readonly List<string> _binds = [];
    private Process? _process;

    private SlapdServer(string folder)
    {
        Folder = folder;
        _config = Path.Combine(folder, "slapd.conf");
        LdapPort = ExternalProgram.FreePort();
        LdapsPort = ExternalProgram.FreePort();
    }

    public string Folder { get; }

    public int LdapPort { get; }

    public int LdapsPort { get; }

    public string LdapUrl => $"ldap://127.0.0.1:{LdapPort}";

    public string LdapsUrl => $"ldaps://127.0.0.1:{LdapsPort}";

    /// <summary>Writes the configuration (with the given schema and TLS files), loads <paramref name="ldif"/> and starts.</summary>
    public static async Task<SlapdServer> StartAsync(string folder, string schema, string certificatePem, string keyPem, string ldif)
    {
        Directory.CreateDirectory(Path.Combine(folder, "db"));
        var server = new SlapdServer(folder);
        File.WriteAllText(Path.Combine(folder, "exchange.schema"), schema);
        File.WriteAllText(Path.Combine(folder, "cert.pem"), certificatePem);
        File.WriteAllText(Path.Combine(folder, "key.pem"), keyPem);
        File.WriteAllText(Path.Combine(folder, "base.ldif"), ldif);
        File.WriteAllText(server._config, $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            include {folder}/exchange.schema
            pidfile {folder}/slapd.pid
            modulepath /usr/lib/ldap
            moduleload back_mdb
            TLSCertificateFile {folder}/cert.pem
            TLSCertificateKeyFile {folder}/key.pem
            database mdb
            maxsize 104857600
            suffix "{Suffix}"
            rootdn "{AdminDn}"
            rootpw {AdminPassword}
            directory {folder}/db
            dbnosync
            index objectClass eq
            index mail,proxyAddresses,userPrincipalName,msExchMailboxGuid eq
            access to attrs=userPassword by self write by anonymous auth by * none
            access to * by * read

            """);
        await ExternalProgram.RunAsync("/usr/sbin/slapadd", ["-q", "-f", server._config, "-l", Path.Combine(folder, "base.ldif")]);
        await server.StartAsync();
        return server;
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("/usr/sbin/slapd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["-d", "stats", "-f", _config, "-h", $"{LdapUrl}/ {LdapsUrl}/"])
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, line) => NoteBind(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await ExternalProgram.WaitUntilAsync(async () => _process.HasExited
            ? throw new InvalidOperationException($"slapd exited with {_process.ExitCode}")
            : await ExternalProgram.AcceptsAsync(LdapPort) && await ExternalProgram.AcceptsAsync(LdapsPort), TimeSpan.FromSeconds(20), "slapd");
    }

    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await ExternalProgram.StopAsync(_process);
            _process.Dispose();
            _process = null;
        }
    }

    /// <summary>Stops (<c>STOP</c>) or resumes (<c>CONT</c>) the process: a directory that accepts connections and never answers.</summary>
    public Task SignalAsync(string signal)
        => ExternalProgram.RunAsync("/bin/kill", [$"-{signal}", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>The DNs of the binds this server has logged so far (<c>conn=… op=… BIND dn="…" method=128</c>), in order.</summary>
    public IReadOnlyList<string> Binds
    {
        get
        {
            lock (_binds)
            {
                return [.. _binds];
            }
        }
    }

    private void NoteBind(string? line)
    {
        const string Marker = " BIND dn=\"";
        // The request line ("… method=128"); a successful bind adds a second "… mech=SIMPLE" line that is not counted.
        var at = line?.IndexOf(Marker, StringComparison.Ordinal) ?? -1;
        if (at >= 0 && line!.Contains(" method=", StringComparison.Ordinal))
        {
            var start = at + Marker.Length;
            var end = line.IndexOf('"', start);
            lock (_binds)
            {
                _binds.Add(end > start ? line[start..end] : line[start..]);
            }
        }
    }

    /// <summary>Applies an LDIF change with <c>ldapmodify</c>, as a directory admin would.</summary>
    public Task ModifyAsync(string ldif)
        => ExternalProgram.RunAsync("/usr/bin/ldapmodify", ["-x", "-H", LdapUrl, "-D", AdminDn, "-w", AdminPassword], ldif);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(Folder, recursive: true);
    }
}
