using Microsoft.Extensions.Options;

namespace CasGateway.Authentication;

/// <summary>
/// The cap on concurrent password hashing: each PBKDF2 costs tens of milliseconds of a core, so a flood of guesses
/// must queue rather than take every core from the requests already signed in. A check waits at most
/// <see cref="FailedLoginOptions.HashQueueTimeout"/> for a slot, then is answered "busy, try again" (HTTP 503 with
/// Retry-After, IMAP <c>NO [UNAVAILABLE]</c>, POP3 <c>-ERR [SYS/TEMP]</c>) without counting as a failed login. The
/// number of slots is read at start.
/// </summary>
public sealed class PasswordHashGate(IOptions<GatewayAuthenticationOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(CapacityOf(options.Value.FailedLogins), CapacityOf(options.Value.FailedLogins));

    public int Capacity { get; } = CapacityOf(options.Value.FailedLogins);

    public void Dispose() => _slots.Dispose();

    /// <summary>Runs <paramref name="hash"/> in a slot; null when no slot became free in time.</summary>
    public async ValueTask<bool?> TryRunAsync(Func<bool> hash, CancellationToken cancellationToken)
    {
        if (!await _slots.WaitAsync(options.Value.FailedLogins.HashQueueTimeout, cancellationToken))
        {
            return null;
        }
        try
        {
            return hash();
        }
        finally
        {
            _slots.Release();
        }
    }

    private static int CapacityOf(FailedLoginOptions settings) => settings.MaxConcurrentHashes ?? Environment.ProcessorCount;
}
