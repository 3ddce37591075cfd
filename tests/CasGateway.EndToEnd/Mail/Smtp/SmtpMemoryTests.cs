using System.Text;
using Xunit.Abstractions;
using static CasGateway.EndToEnd.Mail.Smtp.SmtpTestKit;

namespace CasGateway.EndToEnd.Mail.Smtp;

/// <summary>Issue 17: a 20 MB message is streamed through the gateway, not held: the live heap never grows by anything near its size.</summary>
[Collection(MemorySensitive.Name)]
public sealed class SmtpMemoryTests(SmtpPeers peers, ITestOutputHelper output) : IClassFixture<SmtpPeers>, IAsyncLifetime
{
    private const long MessageSize = 20L * 1024 * 1024;

    /// <summary>
    /// Pipe buffers and TLS records in flight (Kestrel pauses a connection's input at 1 MB) stay well below this; a
    /// buffered message would add 20 MB or more.
    /// </summary>
    private const long AllowedGrowth = MessageSize / 4;

    private MailDeployment _mail = null!;

    public async Task InitializeAsync() => _mail = await StartAsync(peers);

    public async Task DisposeAsync()
    {
        _mail.WriteLogs(output);
        await _mail.DisposeAsync();
    }

    [Fact]
    public async Task A_20_MB_message_is_streamed_without_the_heap_growing_by_its_size()
    {
        // The first session loads and compiles the path (and fills pools); only the second one is measured.
        await SendAsync(1024 * 1024, probe: false);
        var (sent, growth) = await SendAsync(MessageSize, probe: true);
        output.WriteLine($"{sent / 1024 / 1024} MB sent; peak live-heap growth {growth / 1024} KB");
        Assert.True(growth < AllowedGrowth, $"the heap grew by {growth / 1024} KB while a {sent / 1024 / 1024} MB message passed");
        var sessions = await SmtpSessionsAsync(_mail, 2);
        Assert.Equal(2, sessions.Count);
        Assert.True(sessions[1].GetProperty("BytesFromClient").GetInt64() > MessageSize);
    }

    /// <summary>One session sending a message of <paramref name="size"/> bytes from one 64 KB block sent again and again.</summary>
    private async Task<(long Sent, long Growth)> SendAsync(long size, bool probe)
    {
        await using var raw = await ConnectRawAsync(_mail, implicitTls: true);
        await AuthenticateAsync(raw, "alice@contoso.com");
        Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, $"MAIL FROM:<alice@contoso.com> SIZE={size}")));
        Assert.StartsWith("250", Assert.Single(await CommandAsync(raw, "RCPT TO:<alice@contoso.com>")));
        Assert.StartsWith("354", Assert.Single(await CommandAsync(raw, "DATA")));
        var messageId = $"<{Guid.NewGuid():N}@client.fabrikam.test>";
        var line = new string('y', 998) + "\r\n";
        var block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(line, 64 * 1024 / line.Length)));
        long sent;
        long growth = 0;
        using (var heap = probe ? new HeapProbe() : null)
        {
            await raw.SendAsync($"Message-Id: {messageId}\r\nSubject: {size / 1024 / 1024} MB\r\n\r\n");
            for (sent = 0; sent < size; sent += block.Length)
            {
                await raw.SendAsync(block);
            }
            Assert.StartsWith("250 2.0.0 Ok: queued as", Assert.Single(await CommandAsync(raw, ".")));
            growth = heap?.PeakGrowth ?? 0;
        }
        await CommandAsync(raw, "QUIT");
        await WaitForLogAsync(() => peers.Dovecot.Server("mbx1.contoso.com").ReadLog(), $"msgid={messageId}: saved mail to INBOX", "Dovecot mbx1");
        return (sent, growth);
    }
}
