using CasGateway.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Tests.Authentication;

/// <summary>The cap on concurrent password hashing: never more at once than configured; excess waits, then is "busy".</summary>
public sealed class PasswordHashGateTests
{
    [Fact]
    public async Task Never_runs_more_hashes_at_once_than_its_capacity_and_answers_busy_after_the_queue_timeout()
    {
        using var gate = new PasswordHashGate(Options.Create(new GatewayAuthenticationOptions
        {
            FailedLogins = new FailedLoginOptions { MaxConcurrentHashes = 2, HashQueueTimeout = TimeSpan.FromMilliseconds(300) },
        }));
        Assert.Equal(2, gate.Capacity);
        using var release = new ManualResetEventSlim();
        var running = 0;
        var entered = new CountdownEvent(2);
        bool Hash()
        {
            Interlocked.Increment(ref running);
            entered.Signal();
            release.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Decrement(ref running);
            return true;
        }
        var holders = Enumerable.Range(0, 2).Select(_ => Task.Run(async () => await gate.TryRunAsync(Hash, CancellationToken.None))).ToList();
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));

        // Both slots are held: a third check waits the queue timeout, then is told "busy" without hashing.
        var third = await gate.TryRunAsync(() => throw new InvalidOperationException("must not run"), CancellationToken.None);
        Assert.Null(third);
        Assert.Equal(2, Volatile.Read(ref running));

        // A check queued while the slots are held runs once one is free.
        var queued = Task.Run(async () => await gate.TryRunAsync(() => false, CancellationToken.None));
        release.Set();
        Assert.Equal([true, true], await Task.WhenAll(holders));
        Assert.False(await queued);
    }
}
