using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CasGateway.Health;

/// <summary>
/// The state file: persistent holds per component, written atomically (temp file, flushed, renamed over) so a crash
/// never leaves half a file. A file that cannot be read fails start-up rather than bringing a drained node back.
/// </summary>
public sealed class ComponentStateFile(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public string Path { get; } = path;

    /// <summary>The holds in the file, or null when there is no file yet.</summary>
    public ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>>? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        StateDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<StateDocument>(File.ReadAllText(Path), Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Component state file '{Path}' is not valid: {ex.Message} Fix or delete it.", ex);
        }
        var holds = ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>>.Empty;
        foreach (var entry in document?.Holds ?? [])
        {
            if (entry.State == ComponentState.Active)
            {
                continue;
            }
            var held = holds.GetValueOrDefault(entry.Component) ?? ImmutableDictionary<StateRequester, ComponentHold>.Empty;
            holds = holds.SetItem(entry.Component, held.SetItem(entry.Requester,
                new ComponentHold(entry.Requester, entry.State, entry.Reason ?? "", entry.ChangedBy ?? "", entry.ChangedAt)));
        }
        return holds;
    }

    /// <summary>Writes the persistent holds; transient ones (e.g. a shutdown's drain) are left out.</summary>
    public void Save(ImmutableDictionary<ServerComponent, ImmutableDictionary<StateRequester, ComponentHold>> holds)
    {
        var document = new StateDocument(
        [
            .. holds
                .SelectMany(c => c.Value.Values.Where(h => h.Persistent).Select(h => new HoldEntry(c.Key, h.Requester, h.State, h.Reason, h.ChangedBy, h.ChangedAt)))
                .OrderBy(h => h.Component).ThenBy(h => h.Requester),
        ]);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temp = Path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, document, Json);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, Path, overwrite: true);
    }

    private sealed record StateDocument(List<HoldEntry> Holds);

    private sealed record HoldEntry(
        ServerComponent Component,
        StateRequester Requester,
        ComponentState State,
        string? Reason,
        string? ChangedBy,
        DateTimeOffset ChangedAt);
}
