using System.Diagnostics;
using CasGateway.TestSupport;
using Xunit.Abstractions;

namespace CasGateway.EndToEnd.Mail;

/// <summary>Issue 8: sessions leave nothing behind — the managed heap is flat across 500 sequential proxied sessions.</summary>
[Collection(MemorySensitive.Name)]
public sealed class MailMemoryTests(DovecotPair dovecot, ITestOutputHelper output) : IClassFixture<DovecotPair>, IAsyncLifetime
{
    private const int Sessions = 500;
    /// <summary>Noise from pools and caches stays well below this; a leaked session (pipes, TLS, buffers) costs tens of KB.</summary>
    private const long AllowedGrowth = 3 * 1024 * 1024;
    private MailDeployment _mail = null!;

    public async Task InitializeAsync() => _mail = await MailDeployment.StartAsync(dovecot);

    public async Task DisposeAsync()
    {
        await Cleanup.DisposeAllAsync(_mail);
    }

    [Fact]
    public async Task Heap_stays_flat_over_500_sequential_sessions()
    {
        var users = DovecotPair.Users;
        for (var i = 0; i < 30; i++)
        {
            await RunSessionAsync(users[i % users.Length]);
        }
        await _mail.SessionEventsAsync(30);
        var before = SettledHeap();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Sessions; i++)
        {
            await RunSessionAsync(users[i % users.Length]);
            if (i % 100 == 99)
            {
                output.WriteLine($"after {i + 1} sessions: heap {SettledHeap() / 1024} KB");
            }
        }
        clock.Stop();
        Assert.Equal(Sessions + 30, (await _mail.SessionEventsAsync(Sessions + 30)).Count);
        var growth = SettledHeap() - before;
        output.WriteLine($"{Sessions} sessions in {clock.Elapsed.TotalSeconds:F1} s; heap {before / 1024} KB before, growth {growth / 1024} KB");

        Assert.Equal(Sessions + 30, _mail.BackendConnections);
        Assert.True(growth < AllowedGrowth, $"heap grew by {growth / 1024} KB over {Sessions} sessions");
    }

    private async Task RunSessionAsync(string user)
    {
        using var client = await _mail.ConnectImapAsync();
        await client.AuthenticateAsync(user, TestDirectory.PasswordOf(user));
        await client.NoOpAsync();
        await client.DisconnectAsync(quit: true);
    }

    private static long SettledHeap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
