namespace CasGateway.Authentication;

/// <summary>
/// Checks a password against a stored PBKDF2 hash, inside the <see cref="PasswordHashGate"/>. Good checks are
/// remembered in the <see cref="CredentialCheckCache"/> together with the stored hash they were made against: when the
/// directory's hash changes or goes, the remembered check no longer matches, so the old password stops working on the
/// next request. Clients that send Basic credentials on every request cost one PBKDF2 per lifetime.
/// </summary>
public sealed class PasswordVerifier(PasswordHashGate gate, CredentialCheckCache cache)
{
    /// <summary>Whether <paramref name="password"/> matches <paramref name="storedHash"/>; null when hashing is at capacity.</summary>
    public async ValueTask<bool?> VerifyAsync(string userName, string password, string storedHash, CancellationToken cancellationToken)
    {
        if (cache.TryFind(userName, password, storedHash, out bool _))
        {
            return true;
        }
        var good = await gate.TryRunAsync(() => PasswordHash.Verify(password, storedHash), cancellationToken);
        if (good == true)
        {
            cache.Remember(userName, password, storedHash, true);
        }
        else if (good == false)
        {
            cache.Forget(userName);
        }
        return good;
    }

    /// <summary>Spends the same work as a real check against <paramref name="dummyHash"/>, for a user with no hash (never true).</summary>
    public async ValueTask<bool?> SpendAsync(string password, string dummyHash, CancellationToken cancellationToken)
        => await gate.TryRunAsync(() => PasswordHash.Verify(password, dummyHash) && false, cancellationToken);
}
