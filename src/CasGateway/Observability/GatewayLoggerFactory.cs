using System.Collections.Concurrent;

namespace CasGateway.Observability;

/// <summary>
/// The gateway's logger factory over Serilog's, which builds a new logger (a contextual Serilog logger and its event
/// id cache) on every call. ASP.NET Core asks for one with every authentication handler it creates — one per
/// request — so this factory keeps one logger per category.
/// <para>
/// When the gateway does not trace (<paramref name="tracing"/> false), ASP.NET Core's hosting layer still starts an
/// <c>Activity</c> and a log scope for every request whenever its <c>Microsoft.AspNetCore.Hosting.Diagnostics</c>
/// logger reports any level enabled (it asks for <c>Critical</c>). That logger then reports every level disabled,
/// so nothing is made per request; events it writes without asking first (the host's start-up warnings and errors)
/// still reach the pipeline, filtered by the configured levels. Its per-request "Request starting/finished" lines
/// are not written: the protocol log has one line per request.
/// </para>
/// </summary>
internal sealed class GatewayLoggerFactory(ILoggerFactory inner, bool tracing) : ILoggerFactory
{
    public const string HostingCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName)
        => _loggers.TryGetValue(categoryName, out var logger) ? logger : _loggers.GetOrAdd(categoryName, Create);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    private ILogger Create(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return !tracing && categoryName == HostingCategory ? new NotAskedLogger(logger) : logger;
    }

    /// <summary>Answers "disabled" to every question and writes what it is given anyway.</summary>
    private sealed class NotAskedLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
