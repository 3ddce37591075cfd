namespace CasGateway.Authentication;

/// <summary>
/// Checks a password against a stored PBKDF2 hash, inside the <see cref="PasswordHashGate"/>. Good checks are
/// remembered in the <see cref="CredentialCheckCache"/> together with the stored hash they were made against: when the
/// directory's hash changes or goes, the remembered check no longer matches, so the old password stops working on the
/// next request. Clients that send Basic credentials on every request cost one PBKDF2 per lifetime.
/// </summary>
public sealed class PasswordVerifier(PasswordHashGate gate, CredentialCheckCache cache)
{
    /// <summary>
    /// Whether <paramref name="password"/> matches <paramref name="storedHash"/> for <paramref name="user"/> (as the
    /// directory describes the user now): <see cref="CredentialStatus.Valid"/> with the user to sign in,
    /// <see cref="CredentialStatus.Invalid"/>, or <see cref="CredentialStatus.Busy"/> when hashing is at capacity. While
    /// the remembered check still describes the user the same way, its <see cref="AuthenticatedUser"/> instance (and the
    /// principal it keeps) is handed back instead of <paramref name="user"/>; otherwise <paramref name="user"/> replaces it.
    /// </summary>
    public async ValueTask<CredentialCheck> CheckAsync(AuthenticatedUser user, string password, string storedHash, CancellationToken cancellationToken)
    {
        if (cache.TryFind(user.UserName, password, storedHash, out AuthenticatedUser remembered))
        {
            if (remembered.Equals(user))
            {
                return new CredentialCheck(CredentialStatus.Valid, remembered);
            }
            cache.Remember(user.UserName, password, storedHash, user);
            return new CredentialCheck(CredentialStatus.Valid, user);
        }
        var good = await gate.TryRunAsync(() => PasswordHash.Verify(password, storedHash), cancellationToken);
        if (good == true)
        {
            cache.Remember(user.UserName, password, storedHash, user);
            return new CredentialCheck(CredentialStatus.Valid, user);
        }
        if (good == false)
        {
            cache.Forget(user.UserName);
            return CredentialCheck.Invalid;
        }
        return CredentialCheck.Busy;
    }

    /// <summary>Spends the same work as a real check against <paramref name="dummyHash"/>, for a user with no hash (never true).</summary>
    public async ValueTask<bool?> SpendAsync(string password, string dummyHash, CancellationToken cancellationToken)
        => await gate.TryRunAsync(() => PasswordHash.Verify(password, dummyHash) && false, cancellationToken);
}
