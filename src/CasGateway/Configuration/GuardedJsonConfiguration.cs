using Microsoft.Extensions.Configuration.Json;

namespace CasGateway.Configuration;

/// <summary>
/// appsettings files with a guard on reload: an edit is checked as a whole (with the environment and command line
/// on top, as the host would see it) and takes effect only if the whole configuration is valid; a malformed or
/// invalid edit leaves the last good values in force and is reported. The first load is checked at start-up instead.
/// </summary>
public sealed class GuardedJsonConfigurationSource : JsonConfigurationSource
{
    public required Func<IDictionary<string, string?>, IReadOnlyList<string>> Check { get; init; }

    public required Action<string, IReadOnlyList<string>> Rejected { get; init; }

    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new GuardedJsonConfigurationProvider(this);
    }

    /// <summary>
    /// Replaces the host's appsettings sources with guarded ones. An edit of one file is checked on top of the other
    /// appsettings files as they are on disk (appsettings.json under appsettings.Development.json, say), then the
    /// environment and the command line.
    /// </summary>
    public static void Install(ConfigurationManager configuration, string[] args, ConfigurationReloadLog log)
    {
        var files = configuration.Sources.OfType<JsonConfigurationSource>().Where(s => s.ReloadOnChange).ToList();
        for (var i = 0; i < configuration.Sources.Count; i++)
        {
            if (configuration.Sources[i] is JsonConfigurationSource { ReloadOnChange: true } json and not GuardedJsonConfigurationSource)
            {
                configuration.Sources[i] = new GuardedJsonConfigurationSource
                {
                    Path = json.Path!,
                    Optional = json.Optional,
                    ReloadOnChange = true,
                    ReloadDelay = json.ReloadDelay,
                    FileProvider = json.FileProvider,
                    Check = data => GatewayConfiguration.Check(Layered(files, json, data)
                        .AddEnvironmentVariables()
                        .AddCommandLine(args)
                        .Build()),
                    Rejected = log.Rejected,
                };
            }
        }
    }

    private static ConfigurationBuilder Layered(List<JsonConfigurationSource> files, JsonConfigurationSource edited, IDictionary<string, string?> data)
    {
        var builder = new ConfigurationBuilder();
        foreach (var file in files)
        {
            if (ReferenceEquals(file, edited))
            {
                builder.AddInMemoryCollection(data);
            }
            else if (file.FileProvider is { } provider)
            {
                builder.AddJsonFile(provider, file.Path!, optional: true, reloadOnChange: false);
            }
        }
        return builder;
    }
}

internal sealed class GuardedJsonConfigurationProvider(GuardedJsonConfigurationSource source) : JsonConfigurationProvider(source)
{
    private bool _loaded;

    public override void Load(Stream stream)
    {
        var previous = Data;
        if (!_loaded)
        {
            base.Load(stream);
            _loaded = true;
            return;
        }
        IReadOnlyList<string> problems;
        try
        {
            base.Load(stream);
            problems = source.Check(Data);
        }
        catch (FormatException ex)
        {
            problems = [ex.Message];
        }
        catch (System.Text.Json.JsonException ex)
        {
            problems = [ex.Message];
        }
        if (problems.Count > 0)
        {
            Data = previous;
            source.Rejected(source.Path ?? "appsettings", problems);
        }
    }
}

/// <summary>Carries reload verdicts from the configuration providers (built before logging exists) to the log.</summary>
public sealed partial class ConfigurationReloadLog
{
    private ILogger? _logger;

    public void Attach(ILogger logger) => _logger = logger;

    public void Rejected(string file, IReadOnlyList<string> problems)
        => LogRejected(_logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, file, problems.Count, string.Join("; ", problems));

    [LoggerMessage(Level = LogLevel.Error, Message = "Edit of {File} rejected, the last good configuration stays in force: {Count} problem(s): {Problems}")]
    private static partial void LogRejected(ILogger logger, string file, int count, string problems);
}
