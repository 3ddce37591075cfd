using Microsoft.Extensions.Primitives;
using Serilog;

namespace CasGateway.Observability;

/// <summary>
/// The Serilog logger behind every log line, built from the <c>Serilog</c> configuration section plus any
/// <see cref="Serilog.Core.ILogEventSink"/> registered as a service. When that section changes (levels, sinks,
/// enrichers) the logger is rebuilt in place: existing loggers follow, the old sinks are flushed and closed. A
/// section that no longer builds is reported and the previous settings stay in force.
/// </summary>
internal sealed class LogPipeline : IDisposable
{
    public const string Section = "Serilog";

    private readonly IConfiguration _configuration;
    private readonly IServiceProvider _services;
    private readonly LoggerSlot _slot;
    private readonly IDisposable _subscription;
    private readonly Lock _sync = new();
    private Dictionary<string, string?> _applied;

    public LogPipeline(IConfiguration configuration, IServiceProvider services)
    {
        _configuration = configuration;
        _services = services;
        _applied = Snapshot(configuration);
        _slot = new LoggerSlot(Configure(new LoggerConfiguration(), configuration).CreateLogger());
        Logger = new SwappableLogger(_slot);
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, OnConfigurationChanged);
    }

    public Serilog.ILogger Logger { get; }

    public void Dispose()
    {
        _subscription.Dispose();
        _slot.Dispose();
    }

    private void OnConfigurationChanged()
    {
        lock (_sync)
        {
            var wanted = Snapshot(_configuration);
            if (SameSettings(wanted, _applied))
            {
                return;
            }
            Exception? problem = null;
            _slot.Replace(() =>
            {
                try
                {
                    return Configure(new LoggerConfiguration(), _configuration).CreateLogger();
                }
                catch (Exception ex)
                {
                    // Any sink's own constructor can throw anything; whatever it is, logging must go on.
                    problem = ex;
                    return Configure(new LoggerConfiguration(), new ConfigurationBuilder().AddInMemoryCollection(_applied).Build()).CreateLogger();
                }
            });
            if (problem is null)
            {
                _applied = wanted;
            }
            else
            {
                Logger.Error(problem, "The {Section} configuration section is invalid; the previous logging settings stay in force", Section);
            }
        }
    }

    private LoggerConfiguration Configure(LoggerConfiguration logger, IConfiguration source)
        => logger.ReadFrom.Configuration(source).ReadFrom.Services(_services).Enrich.FromLogContext();

    private static Dictionary<string, string?> Snapshot(IConfiguration configuration)
        => configuration.GetSection(Section).AsEnumerable().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);

    private static bool SameSettings(Dictionary<string, string?> a, Dictionary<string, string?> b)
        => a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var value) && value == kv.Value);
}
