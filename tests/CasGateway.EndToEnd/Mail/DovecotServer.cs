using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using CasGateway.Listeners;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// One unprivileged Dovecot instance acting as a mailbox server (see docs test-backends.md): its own config,
/// base_dir and log in a temp folder, IMAP/IMAPS/POP3/POP3S on free loopback ports, a self-signed certificate,
/// passwd-file users (uid 65534) each holding a marker message that names this server, and the master user
/// <c>gateway</c> for the gateway's privileged login. Stopped with <c>doveadm -c FILE stop</c>.
/// </summary>
public sealed class DovecotServer : IAsyncDisposable
{
    public const string MasterUser = "gateway";
    private const string Uid = "65534";
    private readonly string _configPath;
    private int _logOffset;

    private DovecotServer(string name, string folder, string masterPassword, X509Certificate2 certificate)
    {
        Name = name;
        Folder = folder;
        MasterPassword = masterPassword;
        Certificate = certificate;
        _configPath = Path.Combine(folder, "dovecot.conf");
        LogPath = Path.Combine(folder, "dovecot.log");
    }

    /// <summary>The mailbox server FQDN this instance plays.</summary>
    public string Name { get; }

    public string Folder { get; }

    public string MasterPassword { get; }

    public X509Certificate2 Certificate { get; }

    public string LogPath { get; }

    public int ImapPort { get; private set; }

    public int ImapsPort { get; private set; }

    public int PopPort { get; private set; }

    public int PopsPort { get; private set; }

    /// <summary>The LMTP port Postfix delivers to, when started with LMTP (0 otherwise).</summary>
    public int LmtpPort { get; private set; }

    /// <summary>The subject of the message every user's INBOX starts with on this server.</summary>
    public string MarkerSubject => $"Welcome to {Name}";

    public static async Task<DovecotServer> StartAsync(string name, string folder, IReadOnlyList<string> users, string masterPassword, bool lmtp = false)
    {
        var dovecot = FindProgram("dovecot");
        var doveadm = FindProgram("doveadm");
        Directory.CreateDirectory(folder);
        var certificate = CertificateFiles.CreateSelfSigned("localhost", ["localhost"]);
        var server = new DovecotServer(name, folder, masterPassword, certificate);
        await server.WriteFilesAsync(doveadm, users, lmtp);
        try
        {
            var (exit, output) = await RunAsync(dovecot, "-c", server._configPath);
            if (exit != 0)
            {
                throw new InvalidOperationException($"'dovecot -c {server._configPath}' failed ({exit}): {output}\n{server.ReadLog()}");
            }
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            // A Dovecot that started but never became ready (or half started) is stopped, not left running.
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The whole log so far (readable while Dovecot writes it).</summary>
    public string ReadLog()
    {
        if (!File.Exists(LogPath))
        {
            return "(no Dovecot log)";
        }
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The log written since the last call (for a failing test's output).</summary>
    public string ReadNewLog()
    {
        var log = ReadLog();
        var fresh = log.Length >= _logOffset ? log[_logOffset..] : log;
        _logOffset = log.Length;
        return fresh;
    }

    /// <summary>Successful logins Dovecot logged for a protocol (<c>imap</c>/<c>pop3</c>), optionally for one user.</summary>
    public int Logins(string protocol, string? user = null)
        => Regex.Matches(ReadLog(), $@"{protocol}-login: Info: Login: user=<{Regex.Escape(user ?? "")}[^>]*>").Count;

    public async ValueTask DisposeAsync()
    {
        var pidFile = Path.Combine(Folder, "run", "master.pid");
        var pid = File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var p) ? p : 0;
        await RunAsync(FindProgram("doveadm"), "-c", _configPath, "stop");
        for (var i = 0; i < 100 && pid > 0 && Directory.Exists($"/proc/{pid}"); i++)
        {
            await Task.Delay(50);
        }
        if (pid > 0 && Directory.Exists($"/proc/{pid}"))
        {
            // doveadm could not stop it (e.g. it never became ready): end the master and its children.
            try
            {
                using var master = Process.GetProcessById(pid);
                master.Kill(entireProcessTree: true);
                await master.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            }
            catch (ArgumentException)
            {
                // Exited meanwhile.
            }
        }
        Certificate.Dispose();
    }

    private async Task WriteFilesAsync(string doveadm, IReadOnlyList<string> users, bool lmtp)
    {
        var certPath = Path.Combine(Folder, "cert.pem");
        var keyPath = Path.Combine(Folder, "key.pem");
        await File.WriteAllTextAsync(certPath, Certificate.ExportCertificatePem());
        using (var key = Certificate.GetRSAPrivateKey()!)
        {
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
        }
        var userHash = await HashAsync(doveadm, Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)));
        var masterHash = await HashAsync(doveadm, MasterPassword);
        var home = Path.Combine(Folder, "home");
        var passwd = new StringBuilder();
        foreach (var user in users)
        {
            var userHome = Path.Combine(home, user);
            passwd.Append(CultureInvariant($"{user}:{userHash}:{Uid}:{Uid}::{userHome}::\n"));
            foreach (var sub in new[] { "cur", "new", "tmp" })
            {
                Directory.CreateDirectory(Path.Combine(userHome, "Maildir", sub));
            }
            await File.WriteAllTextAsync(Path.Combine(userHome, "Maildir", "new", $"1700000000.marker.{Name}"),
                $"From: CasGateway tests <tests@contoso.com>\nTo: {user}\nSubject: {MarkerSubject}\n"
                + $"Message-ID: <marker.{Name}.{user}>\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nThis mailbox is served by {Name}.\n");
        }
        await File.WriteAllTextAsync(Path.Combine(Folder, "users"), passwd.ToString());
        await File.WriteAllTextAsync(Path.Combine(Folder, "masters"), $"{MasterUser}:{masterHash}\n");
        var (exit, output) = await RunAsync("chown", "-R", $"{Uid}:{Uid}", home);
        if (exit != 0)
        {
            throw new InvalidOperationException($"chown of the mail homes failed: {output}");
        }
        ImapPort = FreePort();
        ImapsPort = FreePort();
        PopPort = FreePort();
        PopsPort = FreePort();
        LmtpPort = lmtp ? FreePort() : 0;
        // LMTP (dovecot-lmtpd), for Postfix in front of this server: docs recipes/postfix-dovecot-lmtp-slapd.md.
        var lmtpConfig = lmtp ? $$"""
            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = {{LmtpPort}}
              }
            }
            protocol lmtp {
              postmaster_address = postmaster@contoso.com
            }

            """ : "";
        await File.WriteAllTextAsync(_configPath, $$"""
            base_dir = {{Folder}}/run
            state_dir = {{Folder}}/state
            instance_name = casgw-{{Path.GetFileName(Folder)}}
            listen = 127.0.0.1
            # The gateway may tell Dovecot the client's address (IMAP ID x-originating-ip, POP3 XCLIENT).
            login_trusted_networks = 127.0.0.0/8
            protocols = imap pop3{{(lmtp ? " lmtp" : "")}}
            log_path = {{LogPath}}
            ssl = required
            ssl_cert = <{{certPath}}
            ssl_key = <{{keyPath}}
            mail_location = maildir:~/Maildir
            auth_master_user_separator = *
            passdb {
              driver = passwd-file
              args = {{Folder}}/masters
              master = yes
              result_success = continue
            }
            passdb {
              driver = passwd-file
              args = {{Folder}}/users
            }
            userdb {
              driver = passwd-file
              args = {{Folder}}/users
            }
            service imap-login {
              inet_listener imap {
                port = {{ImapPort}}
              }
              inet_listener imaps {
                port = {{ImapsPort}}
                ssl = yes
              }
            }
            service pop3-login {
              inet_listener pop3 {
                port = {{PopPort}}
              }
              inet_listener pop3s {
                port = {{PopsPort}}
                ssl = yes
              }
            }
            {{lmtpConfig}}
            """);
    }

    /// <summary>Waits for the real greeting (Dovecot first says "waiting for authentication" while its auth process starts).</summary>
    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, ImapPort);
                using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                while (await reader.ReadLineAsync(timeout.Token) is { } line)
                {
                    last = line;
                    if (line.Contains("ready", StringComparison.OrdinalIgnoreCase))
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                last = ex.Message;
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"Dovecot {Name} did not become ready on port {ImapPort} (last: {last}).\n{ReadLog()}");
    }

    private static async Task<string> HashAsync(string doveadm, string password)
    {
        var (exit, output) = await RunAsync(doveadm, "pw", "-s", "SHA512-CRYPT", "-p", password);
        if (exit != 0)
        {
            throw new InvalidOperationException($"doveadm pw failed: {output}");
        }
        return output.Trim();
    }

    /// <summary>A free loopback port: bind to port 0, note the port, close.</summary>
    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string FindProgram(string name)
    {
        var fromPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin").Append("/usr/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        return fromPath ?? throw new InvalidOperationException(
            $"'{name}' is not installed (/usr/sbin/dovecot missing?): the mail tests need Dovecot as their mailbox servers. "
            + "Run tests/run.sh, which installs it, or: apt-get install -y dovecot-imapd dovecot-pop3d");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();
        try
        {
            // A daemon (dovecot) may keep the pipes open after the starting process exits: take what is there.
            return (process.ExitCode, string.Concat(await output.WaitAsync(TimeSpan.FromSeconds(2))));
        }
        catch (TimeoutException)
        {
            return (process.ExitCode, "");
        }
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
