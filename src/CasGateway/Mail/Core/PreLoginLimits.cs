namespace CasGateway.Mail.Core;

/// <summary>Per-connection limits before login: failed logins (each answered after a delay) and invalid commands.</summary>
public sealed class PreLoginLimits(MailOptions options)
{
    /// <summary>Invalid or refused commands tolerated before the connection is closed.</summary>
    public const int MaxBadCommands = 10;

    private int _failedLogins;
    private int _badCommands;

    /// <summary>Waits the failed-attempt delay; true when this failure used up the allowance.</summary>
    public async Task<bool> LoginFailedAsync(CancellationToken cancellationToken)
    {
        _failedLogins++;
        await Task.Delay(options.FailedAttemptDelay, cancellationToken);
        return _failedLogins >= options.MaxFailedAttempts;
    }

    /// <summary>True when this bad command used up the allowance.</summary>
    public bool BadCommand() => ++_badCommands >= MaxBadCommands;
}
