using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CasGateway.EndToEnd.Mail;

/// <summary>
/// One Debian Postfix instance as a mailbox server's transport, exactly as in the verified recipe
/// (docs recipes/postfix-dovecot-lmtp-slapd.md): its own config, queue and data folders in a temp folder, SMTP on a
/// free loopback port, XCLIENT allowed from 127.0.0.1 (the gateway), the test users as valid recipients, each
/// delivered over LMTP to the Dovecot holding that user's mailbox, and its log in <see cref="MaillogPath"/>.
/// Runs in the foreground (<c>postfix -c DIR start-fg</c>) as the test's child; stopped with SIGTERM to its master.
/// </summary>
public sealed class PostfixServer : IAsyncDisposable
{
    private readonly Process _process;

    private PostfixServer(string name, string folder, int smtpPort, Process process)
    {
        Name = name;
        Folder = folder;
        SmtpPort = smtpPort;
        _process = process;
    }

    /// <summary>The mailbox server this instance is the transport of.</summary>
    public string Name { get; }

    public string Folder { get; }

    public int SmtpPort { get; }

    public string MaillogPath => Path.Combine(Folder, "maillog");

    /// <summary>
    /// Starts an instance for <paramref name="name"/> in <paramref name="folder"/> (which must not exist):
    /// <paramref name="lmtpPortOf"/> maps each valid recipient to the Dovecot LMTP port holding their mailbox.
    /// </summary>
    public static async Task<PostfixServer> StartAsync(string name, string folder, IReadOnlyDictionary<string, int> lmtpPortOf, long messageSizeLimit)
    {
        var postfix = "/usr/sbin/postfix";
        if (!File.Exists(postfix))
        {
            throw new InvalidOperationException(
                "Postfix is not installed: the SMTP tests need it as the mailbox servers' transport. Run tests/run.sh, which installs it, or: apt-get install -y postfix swaks dovecot-lmtpd");
        }
        var etc = Path.Combine(folder, "etc");
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(etc);
        Directory.CreateDirectory(Path.Combine(folder, "queue"));
        Directory.CreateDirectory(data);
        // The postfix user must traverse the folder; data_directory must be owned by mail_owner.
        await RunAsync("chmod", "755", folder);
        await RunAsync("chown", "postfix", data);
        var smtpPort = DovecotServer.FreePort();
        await File.WriteAllTextAsync(Path.Combine(etc, "vmailbox"), string.Concat(lmtpPortOf.Keys.Select(user => $"{user} x\n")));
        await File.WriteAllTextAsync(Path.Combine(etc, "transport"),
            string.Concat(lmtpPortOf.Select(entry => $"{entry.Key} lmtp:inet:127.0.0.1:{entry.Value}\n")));
        await File.WriteAllTextAsync(Path.Combine(etc, "main.cf"), $"""
            compatibility_level = 3.6
            queue_directory = {folder}/queue
            data_directory = {data}
            mail_owner = postfix
            myhostname = {name}
            mydomain = contoso.test
            myorigin = $myhostname
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mydestination =
            local_recipient_maps =
            alias_maps =
            alias_database =
            relayhost =
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
            smtpd_authorized_xclient_hosts = 127.0.0.1
            smtpd_peername_lookup = no
            smtp_dns_support_level = disabled
            lmtp_dns_support_level = disabled
            virtual_mailbox_domains = contoso.com
            virtual_mailbox_maps = texthash:{etc}/vmailbox
            transport_maps = texthash:{etc}/transport
            message_size_limit = {messageSizeLimit}
            maillog_file = {folder}/maillog
            maillog_file_prefixes = {folder}
            smtputf8_enable = no
            biff = no

            """);
        await File.WriteAllTextAsync(Path.Combine(etc, "master.cf"), $"""
            127.0.0.1:{smtpPort} inet n  -       n       -       -       smtpd
            pickup    unix  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000?   0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            proxywrite unix -       -       n       -       1       proxymap
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            smtp      unix  -       -       n       -       -       smtp
            relay     unix  -       -       n       -       -       smtp
            lmtp      unix  -       -       n       -       -       lmtp
            virtual   unix  -       n       n       -       -       virtual
            local     unix  -       n       n       -       -       local
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd

            """);
        var start = new ProcessStartInfo(postfix) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(etc);
        start.ArgumentList.Add("start-fg");
        var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PostfixServer(name, folder, smtpPort, process);
        try
        {
            await server.WaitUntilReadyAsync(output);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>The log so far.</summary>
    public string ReadMaillog()
    {
        if (!File.Exists(MaillogPath))
        {
            return "(no Postfix log)";
        }
        using var stream = new FileStream(MaillogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        // start-fg's postfix-script runs master as its child. (master.pid cannot be read from here: master holds a
        // lock on it that .NET's own file locking conflicts with.)
        var children = $"/proc/{_process.Id}/task/{_process.Id}/children";
        var master = File.Exists(children) ? File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() : null;
        if (master is not null)
        {
            await RunAsync("kill", "-TERM", master);
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }

    private async Task WaitUntilReadyAsync(StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"postfix -c {Folder}/etc start-fg exited ({_process.ExitCode}): {output}\n{ReadMaillog()}");
            }
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, SmtpPort);
                using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if ((await reader.ReadLineAsync(timeout.Token))?.StartsWith("220 ", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"Postfix {Name} did not greet on port {SmtpPort}: {output}\n{ReadMaillog()}");
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
    }
}
