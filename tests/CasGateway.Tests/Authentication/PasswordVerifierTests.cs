using CasGateway.Authentication;
using Microsoft.Extensions.Options;

namespace CasGateway.Tests.Authentication;

/// <summary>
/// The credential cache on the File and SQL path: a repeated good password needs no hashing slot; a wrong password, a
/// different password, a changed stored hash or a zero lifetime all go back to hashing. Every hashing slot is held
/// while checking, so "needed a hash" shows as "busy" (null) and "answered from the cache" as true.
/// </summary>
public sealed class PasswordVerifierTests : IDisposable
{
    private const int Iterations = 10_000;
    private readonly string _hash = PasswordHash.Create("pw-alice", Iterations);
    private readonly ManualResetEventSlim _release = new();
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        _owned.ForEach(owned => owned.Dispose());
        _release.Dispose();
    }

    [Fact]
    public async Task A_repeated_good_password_is_answered_without_hashing_and_anything_else_hashes_again()
    {
        var (verifier, gate) = Create(TimeSpan.FromMinutes(5));
        Assert.True(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", _hash, CancellationToken.None));

        await using (await HoldEverySlotAsync(gate))
        {
            Assert.True(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", _hash, CancellationToken.None));
            // The user name is compared without case, as the directory finds it.
            Assert.True(await verifier.VerifyAsync("ALICE@contoso.com", "pw-alice", _hash, CancellationToken.None));
            // Another password, or the directory's hash changed since (a password reset): hashing needed.
            Assert.Null(await verifier.VerifyAsync("alice@contoso.com", "pw-other", _hash, CancellationToken.None));
            Assert.Null(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", PasswordHash.Create("pw-alice", Iterations), CancellationToken.None));
        }

        // A wrong password evicts the user's entry: the good one is hashed again next time.
        Assert.False(await verifier.VerifyAsync("alice@contoso.com", "wrong", _hash, CancellationToken.None));
        await using (await HoldEverySlotAsync(gate))
        {
            Assert.Null(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", _hash, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_zero_lifetime_remembers_nothing()
    {
        var (verifier, gate) = Create(TimeSpan.Zero);
        Assert.True(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", _hash, CancellationToken.None));
        await using (await HoldEverySlotAsync(gate))
        {
            Assert.Null(await verifier.VerifyAsync("alice@contoso.com", "pw-alice", _hash, CancellationToken.None));
        }
    }

    private (PasswordVerifier Verifier, PasswordHashGate Gate) Create(TimeSpan lifetime)
    {
        var options = Options.Create(new GatewayAuthenticationOptions
        {
            CredentialCacheLifetime = lifetime,
            FailedLogins = new FailedLoginOptions { MaxConcurrentHashes = 1, HashQueueTimeout = TimeSpan.Zero },
        });
        var gate = new PasswordHashGate(options);
        var cache = new CredentialCheckCache(options);
        _owned.AddRange([gate, cache]);
        return (new PasswordVerifier(gate, cache), gate);
    }

    /// <summary>Takes the gate's only slot until disposed.</summary>
    private async Task<IAsyncDisposable> HoldEverySlotAsync(PasswordHashGate gate)
    {
        _release.Reset();
        using var entered = new ManualResetEventSlim();
        var holder = Task.Run(async () => await gate.TryRunAsync(
            () =>
            {
                entered.Set();
                _release.Wait(TimeSpan.FromSeconds(30));
                return true;
            },
            CancellationToken.None));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(10)));
        return new Holder(_release, holder);
    }

    private sealed class Holder(ManualResetEventSlim release, Task<bool?> holder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            release.Set();
            Assert.True(await holder);
        }
    }
}
