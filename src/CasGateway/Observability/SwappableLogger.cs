using Serilog;
using ILogger = Serilog.ILogger;
using Serilog.Core;
using Serilog.Events;

namespace CasGateway.Observability;

/// <summary>
/// The one configured Serilog <see cref="Logger"/> of the moment; <see cref="LogPipeline"/> replaces it when the
/// settings change (one caller at a time). The old logger is disposed first, its sinks flushed and closed, so that the
/// new sinks can open the same files; readers take no lock, so an event written by another thread during the
/// replacement may be dropped.
/// </summary>
internal sealed class LoggerSlot(Logger initial) : IDisposable
{
    private volatile Logger _current = initial;

    public Logger Current => _current;

    public void Replace(Func<Logger> create)
    {
        _current.Dispose();
        _current = create();
    }

    public void Dispose() => _current.Dispose();
}

/// <summary>
/// A Serilog logger that follows <see cref="LoggerSlot"/>: it applies its contextual settings (source context,
/// enrichers) to the slot's logger and re-applies them, once, after each swap. Serilog's own reloadable logger does
/// the same under one process-wide lock on every call, with two process-wide memory barriers for each new
/// contextual logger — on every request, since ASP.NET Core creates an authentication handler, and its logger, per
/// request. Here the hot path is a volatile read and a reference comparison.
/// </summary>
internal sealed class SwappableLogger : ILogger
{
    private readonly LoggerSlot _slot;
    private readonly Func<ILogger, ILogger> _derive;
    private Derived _derived;

    public SwappableLogger(LoggerSlot slot)
        : this(slot, static logger => logger)
    {
    }

    private SwappableLogger(LoggerSlot slot, Func<ILogger, ILogger> derive)
    {
        _slot = slot;
        _derive = derive;
        var root = slot.Current;
        _derived = new Derived(root, derive(root));
    }

    /// <summary>The derived logger for the slot's current logger (one reference write when it changed).</summary>
    private ILogger Current
    {
        get
        {
            var root = _slot.Current;
            var derived = _derived;
            if (!ReferenceEquals(derived.Root, root))
            {
                derived = new Derived(root, _derive(root));
                _derived = derived;
            }
            return derived.Logger;
        }
    }

    private SwappableLogger Child(Func<ILogger, ILogger> derive)
    {
        var parent = _derive;
        return new SwappableLogger(_slot, logger => derive(parent(logger)));
    }

    public ILogger ForContext(ILogEventEnricher enricher) => Child(logger => logger.ForContext(enricher));

    public ILogger ForContext(IEnumerable<ILogEventEnricher> enrichers)
    {
        var fixedEnrichers = enrichers.ToArray();
        return Child(logger => logger.ForContext(fixedEnrichers));
    }

    public ILogger ForContext(string propertyName, object? value, bool destructureObjects = false)
    {
        if (value is null or string || value.GetType().IsPrimitive || value.GetType().IsEnum)
        {
            return Child(logger => logger.ForContext(propertyName, value, destructureObjects));
        }
        // Not safe to keep a mutable object alive and capture it later on another thread: capture it now.
        return Current.BindProperty(propertyName, value, destructureObjects, out var property)
            ? Child(logger => logger.ForContext(new FixedProperty(property)))
            : this;
    }

    public ILogger ForContext<TSource>() => ForContext(Constants.SourceContextPropertyName, typeof(TSource).FullName);

    public ILogger ForContext(Type source) => ForContext(Constants.SourceContextPropertyName, source.FullName);

    public void Write(LogEvent logEvent) => Current.Write(ProbeFailureLines.Shorten(logEvent));

    public void Write(LogEventLevel level, string messageTemplate) => Current.Write(level, messageTemplate);

    public void Write(LogEventLevel level, string messageTemplate, params object?[]? propertyValues)
        => Current.Write(level, messageTemplate, propertyValues);

    public void Write(LogEventLevel level, Exception? exception, string messageTemplate)
        => Current.Write(level, exception, messageTemplate);

    public void Write(LogEventLevel level, Exception? exception, string messageTemplate, params object?[]? propertyValues)
        => Current.Write(level, exception, messageTemplate, propertyValues);

    public bool IsEnabled(LogEventLevel level) => Current.IsEnabled(level);

    public bool BindMessageTemplate(string messageTemplate, object?[]? propertyValues,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MessageTemplate? parsedTemplate,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IEnumerable<LogEventProperty>? boundProperties)
        => Current.BindMessageTemplate(messageTemplate, propertyValues, out parsedTemplate, out boundProperties);

    public bool BindProperty(string? propertyName, object? value, bool destructureObjects,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LogEventProperty? property)
        => Current.BindProperty(propertyName, value, destructureObjects, out property);

    private sealed record Derived(Logger Root, ILogger Logger);

    private sealed class FixedProperty(LogEventProperty property) : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) => logEvent.AddPropertyIfAbsent(property);
    }
}
