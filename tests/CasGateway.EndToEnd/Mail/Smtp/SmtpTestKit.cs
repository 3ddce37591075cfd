using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using CasGateway.EndToEnd.Health;
using CasGateway.Mail;
using CasGateway.Mail.Core;
using CasGateway.TestSupport;
using MailKit.Net.Smtp;
using MailKit.Security;

namespace CasGateway.EndToEnd.Mail.Smtp;

/// <summary>What the SMTP tests share: starting the deployment, clients (MailKit, swaks, by hand) and reading the peers' logs.</summary>
public static class SmtpTestKit
{
    public static Task<MailDeployment> StartAsync(SmtpPeers peers, IDictionary<string, string?>? overrides = null, IReadOnlyDictionary<string, int?>? smtpPorts = null)
        => MailDeployment.StartAsync(peers.Dovecot, MailBackendTls.ImplicitTls, overrides, smtpPorts ?? peers.SmtpPorts);

    /// <summary>A MailKit SMTP client connected to the gateway's submission listener (from <paramref name="from"/> when given).</summary>
    public static async Task<SmtpClient> ConnectAsync(MailDeployment mail, bool implicitTls, IPAddress? from = null)
    {
        var expected = mail.Gateway.ServerCertificate.GetCertHashString(HashAlgorithmName.SHA256);
        var client = new SmtpClient
        {
            Timeout = 60_000,
            LocalDomain = "client.fabrikam.test",
            ServerCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString(HashAlgorithmName.SHA256) == expected,
        };
        if (from is not null)
        {
            client.LocalEndPoint = new IPEndPoint(from, 0);
        }
        var endPoint = mail.EndPoint(MailProtocol.Smtp, implicitTls);
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, implicitTls ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls);
        return client;
    }

    /// <summary>A hand-driven connection to a listener, greeting read and checked.</summary>
    public static async Task<RawMailConnection> ConnectRawAsync(MailDeployment mail, bool implicitTls, bool inbound = false, IPAddress? from = null)
    {
        var raw = await RawMailConnection.OpenAsync(mail.EndPoint(MailProtocol.Smtp, implicitTls, inbound), implicitTls ? mail.Gateway.ServerCertificate : null, from);
        Assert.StartsWith("220 cas.contoso.com ", await raw.ReadLineAsync());
        return raw;
    }

    /// <summary>Sends one command and returns the whole reply (all its lines).</summary>
    public static async Task<List<string>> CommandAsync(RawMailConnection raw, string command)
    {
        await raw.SendAsync(command + "\r\n");
        return await ReadReplyAsync(raw);
    }

    /// <summary>The lines of one reply (<c>250-…</c> up to <c>250 …</c>); fails when the connection closes first.</summary>
    public static async Task<List<string>> ReadReplyAsync(RawMailConnection raw)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await raw.ReadLineAsync(TimeSpan.FromSeconds(30)) ?? throw new Xunit.Sdk.XunitException($"connection closed after [{string.Join(" | ", lines)}]");
            lines.Add(line);
            if (line.Length <= 3 || line[3] == ' ')
            {
                return lines;
            }
        }
    }

    /// <summary>EHLO, then AUTH PLAIN as <paramref name="user"/> with their directory password (TLS already on).</summary>
    public static async Task AuthenticateAsync(RawMailConnection raw, string user)
    {
        Assert.Contains(await CommandAsync(raw, "EHLO client.fabrikam.test"), l => l.Contains("AUTH PLAIN", StringComparison.Ordinal));
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{TestDirectory.PasswordOf(user)}"));
        Assert.StartsWith("235 2.7.0", Assert.Single(await CommandAsync(raw, "AUTH PLAIN " + plain)));
    }

    /// <summary>Runs swaks (Debian's) and returns its exit code and transcript.</summary>
    public static async Task<(int Exit, string Transcript)> SwaksAsync(params string[] arguments)
    {
        if (!File.Exists("/usr/bin/swaks"))
        {
            throw new InvalidOperationException("swaks is not installed: run tests/run.sh, which installs it, or: apt-get install -y swaks libnet-ssleay-perl");
        }
        var start = new ProcessStartInfo("/usr/bin/swaks") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, string.Concat(await output));
    }

    /// <summary>Waits until a peer's log (Postfix's maillog, Dovecot's log) contains <paramref name="text"/>; returns the log.</summary>
    public static async Task<string> WaitForLogAsync(Func<string> log, string text, string what)
    {
        var content = "";
        await HealthTestKit.EventuallyAsync(() => Task.FromResult((content = log()).Contains(text, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), $"{what} logged '{text}'");
        return content;
    }

    /// <summary>The gateway's SMTP session events.</summary>
    public static async Task<List<System.Text.Json.JsonElement>> SmtpSessionsAsync(MailDeployment mail, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var sessions = (await mail.SessionEventsAsync()).Where(e => e.GetProperty("Protocol").GetString() == "Smtp").ToList();
            if (sessions.Count >= count || DateTime.UtcNow > deadline)
            {
                return sessions;
            }
            await Task.Delay(50);
        }
    }
}
