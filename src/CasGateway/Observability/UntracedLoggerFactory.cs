namespace CasGateway.Observability;

/// <summary>
/// The logger factory when the gateway does not trace. ASP.NET Core's hosting layer starts an <c>Activity</c> and a
/// log scope for every request whenever its <c>Microsoft.AspNetCore.Hosting.Diagnostics</c> logger reports any level
/// enabled (it asks for <c>Critical</c>), tracing or not. That logger here reports every level disabled, so nothing
/// is made per request; events it writes without asking first (the host's start-up warnings and errors) still reach
/// the pipeline, filtered by the configured levels. Its per-request "Request starting/finished" lines are not
/// written: the protocol log has one line per request.
/// </summary>
internal sealed class UntracedLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public const string HostingCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName == HostingCategory ? new NotAskedLogger(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    /// <summary>Answers "disabled" to every question and writes what it is given anyway.</summary>
    private sealed class NotAskedLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => false;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
