using System.Security.Cryptography;
using CasGateway.Location;

namespace CasGateway.Authentication;

/// <summary>
/// The embedded validator: PBKDF2 password hashes kept in the directory file. An unknown user, or a mailbox without
/// a password, is checked against a dummy hash with the directory's usual iteration count, so the answer takes as
/// long as a wrong password for a real user and its timing says nothing about who exists.
/// </summary>
public sealed class DirectoryCredentialValidator(DirectoryFileSource directory, PasswordVerifier verifier) : ICredentialValidator
{
    private DummyHash? _dummy;

    public async ValueTask<CredentialCheck> ValidateAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var snapshot = directory.Current;
        var mailbox = snapshot.FindByAddress(userName);
        if (mailbox is null || snapshot.PasswordHashOf(mailbox) is not { } hash)
        {
            return await verifier.SpendAsync(password, DummyFor(snapshot), cancellationToken) is null ? CredentialCheck.Busy : CredentialCheck.Invalid;
        }
        return await verifier.CheckAsync(new AuthenticatedUser(userName, mailbox.PrimarySmtpAddress, mailbox.Guid), password, hash, cancellationToken);
    }

    /// <summary>A hash of a random password with the iteration count most of this directory's hashes use (made once per directory version).</summary>
    private string DummyFor(DirectorySnapshot snapshot)
    {
        var dummy = Volatile.Read(ref _dummy);
        if (dummy?.Snapshot == snapshot)
        {
            return dummy.Hash;
        }
        var iterations = snapshot.UsualIterations is > 0 and var usual ? usual : PasswordHash.DefaultIterations;
        var hash = dummy is not null && PasswordHash.IterationsOf(dummy.Hash) == iterations
            ? dummy.Hash
            : PasswordHash.Create(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)), iterations);
        Volatile.Write(ref _dummy, new DummyHash(snapshot, hash));
        return hash;
    }

    private sealed record DummyHash(DirectorySnapshot Snapshot, string Hash);
}
