using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CasGateway.Health;

/// <summary>
/// The last report of the dependency health checks (locator, backends), which probes read, so no probe ever reaches
/// the locator or a backend. The checks run once as the gateway starts, before its listeners open, and then from
/// ASP.NET Core's health check publisher every <see cref="HealthOptions.RefreshInterval"/>; a change of status is logged.
/// </summary>
public sealed partial class DependencyHealth(HealthCheckService checks, TimeProvider clock, ILogger<DependencyHealth> logger)
    : IHealthCheckPublisher, IHostedService
{
    private volatile Result? _latest;

    /// <summary>The last report and when it was made; null before the first check.</summary>
    public Result? Latest => _latest;

    /// <summary>Healthy or degraded (some backends down, at least one up); false before the first check.</summary>
    public bool IsHealthy => _latest is { Report.Status: not HealthStatus.Unhealthy };

    public async Task StartAsync(CancellationToken cancellationToken)
        => await PublishAsync(await checks.CheckHealthAsync(cancellationToken), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        var previous = _latest?.Report.Status;
        _latest = new Result(report, clock.GetUtcNow());
        if (previous != report.Status)
        {
            var details = string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} ({e.Value.Description})"));
            if (report.Status != HealthStatus.Healthy)
            {
                LogUnhealthy(logger, report.Status, details);
            }
            else if (previous is null)
            {
                // A clean start says nothing here; its listeners are what it announces.
                LogHealthyAtStart(logger, details);
            }
            else
            {
                LogHealthy(logger, details);
            }
        }
        return Task.CompletedTask;
    }

    public sealed record Result(HealthReport Report, DateTimeOffset CheckedAt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dependencies healthy: {Details}")]
    private static partial void LogHealthyAtStart(ILogger logger, string details);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dependencies healthy again: {Details}")]
    private static partial void LogHealthy(ILogger logger, string details);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dependencies {Status}: {Details}")]
    private static partial void LogUnhealthy(ILogger logger, HealthStatus status, string details);
}
