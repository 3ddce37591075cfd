using System.Runtime.InteropServices;

namespace CasGateway.Health;

/// <summary>
/// The host's lifetime, in place of the console lifetime: SIGINT and SIGQUIT stop at once (as before); the first
/// SIGTERM drains the whole node — probes fail at once, requests are served through the grace period, long-lived
/// requests are then ended — and only then stops the host, whose shutdown timeout lets in-flight requests finish.
/// A second SIGTERM exits at once.
/// </summary>
public sealed partial class DrainingHostLifetime(
    IHostApplicationLifetime lifetime,
    ComponentStateStore states,
    DrainCoordinator drain,
    TimeProvider clock,
    ILogger<DrainingHostLifetime> logger) : IHostLifetime, IDisposable
{
    /// <summary>128 + SIGTERM, what a process killed by SIGTERM reports.</summary>
    private const int ExitCodeOnSecondSigterm = 143;

    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _sigterms;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, StopNow));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, StopNow));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm));
        lifetime.ApplicationStarted.Register(() => LogStarted(logger, drain.GracePeriod.TotalSeconds));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void StopNow(PosixSignalContext context)
    {
        context.Cancel = true;
        lifetime.StopApplication();
    }

    private void OnSigterm(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _sigterms) > 1)
        {
            LogExitNow(logger);
            Environment.Exit(ExitCodeOnSecondSigterm);
        }
        _ = DrainThenStopAsync();
    }

    private async Task DrainThenStopAsync()
    {
        try
        {
            states.Set(ServerComponent.ServerWideOffline, ComponentState.Draining, StateRequester.Deployment,
                "process shutdown (SIGTERM)", "SIGTERM", persistent: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only when replacing a persistent Deployment hold; the drain goes on regardless.
            LogStateFileFailed(logger, ex.Message);
        }
        var since = drain.OutOfServiceSince(ServerComponent.ServerWideOffline) ?? clock.GetUtcNow();
        var remaining = since + drain.GracePeriod - clock.GetUtcNow();
        LogDraining(logger, Math.Max(0, remaining.TotalSeconds));
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, clock);
        }
        LogStopping(logger);
        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started. SIGTERM drains for {Seconds:0.#} s, then stops; Ctrl+C stops at once")]
    private static partial void LogStarted(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIGTERM: draining for {Seconds:0.#} s before stopping; a second SIGTERM exits at once")]
    private static partial void LogDraining(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIGTERM: grace period over, stopping; in-flight requests get the shutdown timeout to finish")]
    private static partial void LogStopping(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "SIGTERM: could not write the state file ({Problem}); draining anyway")]
    private static partial void LogStateFileFailed(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Second SIGTERM: exiting at once")]
    private static partial void LogExitNow(ILogger logger);
}
