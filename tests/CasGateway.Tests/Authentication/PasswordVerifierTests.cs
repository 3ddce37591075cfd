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
        Assert.Equal(CredentialStatus.Valid, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);

        await using (await HoldEverySlotAsync(gate))
        {
            Assert.Equal(CredentialStatus.Valid, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);
            // The user name is compared without case, as the directory finds it.
            Assert.Equal(CredentialStatus.Valid, (await verifier.CheckAsync(UserOf("ALICE@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);
            // Another password, or the directory's hash changed since (a password reset): hashing needed.
            Assert.Equal(CredentialStatus.Busy, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-other", _hash, CancellationToken.None)).Status);
            Assert.Equal(CredentialStatus.Busy, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", PasswordHash.Create("pw-alice", Iterations), CancellationToken.None)).Status);
        }

        // A wrong password evicts the user's entry: the good one is hashed again next time.
        Assert.Equal(CredentialStatus.Invalid, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "wrong", _hash, CancellationToken.None)).Status);
        await using (await HoldEverySlotAsync(gate))
        {
            Assert.Equal(CredentialStatus.Busy, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);
        }
    }

    [Fact]
    public async Task A_zero_lifetime_remembers_nothing()
    {
        var (verifier, gate) = Create(TimeSpan.Zero);
        Assert.Equal(CredentialStatus.Valid, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);
        await using (await HoldEverySlotAsync(gate))
        {
            Assert.Equal(CredentialStatus.Busy, (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).Status);
        }
    }

    [Fact]
    public async Task A_remembered_check_hands_back_the_same_user_and_read_only_principal_until_the_directory_describes_the_user_differently()
    {
        var (verifier, gate) = Create(TimeSpan.FromMinutes(5));
        var first = (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).User!;
        var bob = (await verifier.CheckAsync(UserOf("bob@contoso.com"), "pw-alice", _hash, CancellationToken.None)).User!;
        await using (await HoldEverySlotAsync(gate))
        {
            var again = (await verifier.CheckAsync(UserOf("alice@contoso.com"), "pw-alice", _hash, CancellationToken.None)).User!;
            Assert.Same(first, again);
            Assert.Same(first.SharedPrincipal("Basic"), again.SharedPrincipal("Basic"));

            // Never another user's principal.
            Assert.NotSame(first.SharedPrincipal("Basic"), bob.SharedPrincipal("Basic"));
            Assert.Equal("bob@contoso.com", bob.SharedPrincipal("Basic").Identity!.Name);

            // The mailbox moved to another GUID in the directory: the new description is signed in (no hashing needed) and remembered.
            var moved = new AuthenticatedUser("alice@contoso.com", "alice@contoso.com", Guid.NewGuid());
            var check = await verifier.CheckAsync(moved, "pw-alice", _hash, CancellationToken.None);
            Assert.Equal(CredentialStatus.Valid, check.Status);
            Assert.Same(moved, check.User);
            Assert.Equal(moved.MailboxGuid, GatewayClaims.MailboxGuidOf(check.User!.SharedPrincipal("Basic")));
            Assert.Same(moved, (await verifier.CheckAsync(new AuthenticatedUser("alice@contoso.com", "alice@contoso.com", moved.MailboxGuid), "pw-alice", _hash, CancellationToken.None)).User);
        }

        // What every request of the user shares cannot be changed by one of them.
        var principal = first.SharedPrincipal("Basic");
        var identity = (System.Security.Claims.ClaimsIdentity)principal.Identity!;
        Assert.Equal("Basic", identity.AuthenticationType);
        Assert.Equal("alice@contoso.com", GatewayClaims.AddressOf(principal));
        Assert.Throws<InvalidOperationException>(() => identity.AddClaim(new System.Security.Claims.Claim(GatewayClaims.PrimarySmtpAddress, "mallory@contoso.com")));
        Assert.Throws<InvalidOperationException>(() => identity.RemoveClaim(identity.FindFirst(GatewayClaims.PrimarySmtpAddress)));
        Assert.False(identity.TryRemoveClaim(identity.FindFirst(GatewayClaims.PrimarySmtpAddress)));
        Assert.Throws<InvalidOperationException>(() => principal.AddIdentity(new System.Security.Claims.ClaimsIdentity()));
        Assert.Equal(3, identity.Claims.Count());
        Assert.Single(principal.Identities);
    }

    private static AuthenticatedUser UserOf(string userName) => new(userName, userName.ToLowerInvariant(), Guid.Parse("6f1f0a4e-3c2b-4d5e-9f10-112233445566"));

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
