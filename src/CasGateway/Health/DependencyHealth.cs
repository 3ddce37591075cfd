using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>
/// The last result of the dependency checks (locator, backends). Probes read it; only
/// <see cref="DependencyHealthRefresher"/> runs the checks, so no probe ever reaches the locator or a backend.
/// </summary>
public sealed class DependencyHealth
{
    private volatile Result? _latest;

    /// <summary>The last report and when it was made; null before the first check.</summary>
    public Result? Latest => _latest;

    /// <summary>Healthy or degraded (some backends down, at least one up); false before the first check.</summary>
    public bool IsHealthy => _latest is { Report.Status: not HealthStatus.Unhealthy };

    internal void Publish(Result result) => _latest = result;

    public sealed record Result(HealthReport Report, DateTimeOffset CheckedAt);
}

/// <summary>Runs the dependency health checks once before the server starts, then every refresh interval.</summary>
public sealed partial class DependencyHealthRefresher(
    HealthCheckService checks,
    DependencyHealth cache,
    IOptions<HealthOptions> options,
    TimeProvider clock,
    ILogger<DependencyHealthRefresher> logger) : BackgroundService
{
    public const string DependencyTag = "dependency";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(r => r.Tags.Contains(DependencyTag), cancellationToken);
        var previous = cache.Latest?.Report.Status;
        cache.Publish(new DependencyHealth.Result(report, clock.GetUtcNow()));
        if (previous != report.Status)
        {
            var details = string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} ({e.Value.Description})"));
            if (report.Status == HealthStatus.Healthy)
            {
                LogHealthy(logger, details);
            }
            else
            {
                LogUnhealthy(logger, report.Status, details);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dependencies healthy: {Details}")]
    private static partial void LogHealthy(ILogger logger, string details);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dependencies {Status}: {Details}")]
    private static partial void LogUnhealthy(ILogger logger, HealthStatus status, string details);
}
