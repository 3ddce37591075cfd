using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace CasGateway.TestSupport;

/// <summary>
/// An in-memory Serilog sink: register it as a service (<c>services.AddSingleton&lt;ILogEventSink&gt;(sink)</c>) and
/// the gateway's logger writes every event to it as well as to its configured sinks.
/// </summary>
public sealed class CapturingLogSink : ILogEventSink
{
    public const string ProtocolLogSource = "CasGateway.ProtocolLog";

    private readonly ConcurrentQueue<LogEvent> _events = new();

    public IReadOnlyList<LogEvent> Events => [.. _events];

    /// <summary>The protocol log events (one per request).</summary>
    public IReadOnlyList<LogEvent> ProtocolEvents => [.. _events.Where(e => Source(e) == ProtocolLogSource)];

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    /// <summary>Waits until a protocol log event matches, failing the test after <paramref name="timeout"/>.</summary>
    public async Task<LogEvent> WaitForProtocolEventAsync(Func<LogEvent, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (ProtocolEvents.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"No matching protocol log event; {ProtocolEvents.Count} protocol events captured.");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Every captured event as the file sink would write it (compact JSON, message rendered, exceptions included).</summary>
    public string RenderAll()
    {
        var formatter = new RenderedCompactJsonFormatter();
        using var writer = new StringWriter();
        foreach (var logEvent in _events)
        {
            formatter.Format(logEvent, writer);
        }
        return writer.ToString();
    }

    /// <summary>A scalar property's value (null when absent or null).</summary>
    public static object? Value(LogEvent logEvent, string property)
        => logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue scalar ? scalar.Value : null;

    public static string? Source(LogEvent logEvent) => Value(logEvent, "SourceContext") as string;
}
