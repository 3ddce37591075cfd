using System.Text.Json;
using System.Text.Json.Nodes;

namespace CasGateway.TestSupport;

/// <summary>
/// A gateway content root of the test's own, with an appsettings.json an admin would edit: the shipped file with
/// the test's settings merged in. Edits are written the way editors save (temp file, then rename).
/// </summary>
public sealed class GatewaySettingsFile
{
    private GatewaySettingsFile(string folder, JsonObject settings)
    {
        Folder = folder;
        Settings = settings;
    }

    public string Folder { get; }

    public string Path => System.IO.Path.Combine(Folder, "appsettings.json");

    /// <summary>The settings as last saved.</summary>
    public JsonObject Settings { get; private set; }

    public static GatewaySettingsFile Create(string folder, IDictionary<string, string?> settings)
    {
        Directory.CreateDirectory(folder);
        var shipped = JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(AppContext.BaseDirectory, "appsettings.json")))!.AsObject();
        shipped.Remove("$schema");
        foreach (var (key, value) in settings)
        {
            if (value is not null)
            {
                Set(shipped, key, value);
            }
        }
        var file = new GatewaySettingsFile(folder, shipped);
        file.Save(shipped);
        return file;
    }

    /// <summary>Saves a changed copy of the settings.</summary>
    public void Edit(Action<JsonObject> change)
    {
        var copy = Settings.DeepClone().AsObject();
        change(copy);
        Save(copy);
    }

    /// <summary>Saves a changed copy without making it the base of later edits (an edit the admin will undo).</summary>
    public void EditOnce(Action<JsonObject> change)
    {
        var copy = Settings.DeepClone().AsObject();
        change(copy);
        WriteRaw(copy.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes raw text, e.g. a half-typed file.</summary>
    public void WriteRaw(string text)
    {
        var temp = Path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, Path, overwrite: true);
    }

    /// <summary>Sets <c>A:B:C</c> to a value, creating objects on the way (list indexes become object keys, as configuration reads them).</summary>
    public static void Set(JsonObject root, string key, string value)
    {
        var parts = key.Split(':');
        JsonNode node = root;
        foreach (var part in parts[..^1])
        {
            node = Child(node, part) ?? Add(node, part);
        }
        if (node is JsonArray array && int.TryParse(parts[^1], out var last) && last < array.Count)
        {
            array[last] = value;
        }
        else
        {
            node.AsObject()[parts[^1]] = value;
        }
    }

    /// <summary>An existing object or array element, following JSON arrays by index as configuration does.</summary>
    private static JsonNode? Child(JsonNode node, string part) => node switch
    {
        JsonArray array when int.TryParse(part, out var index) && index < array.Count && array[index] is JsonObject element => element,
        JsonObject obj when obj[part] is JsonObject or JsonArray => obj[part],
        _ => null,
    };

    private static JsonObject Add(JsonNode node, string part)
    {
        var child = new JsonObject();
        if (node is JsonArray array && int.TryParse(part, out var index) && index == array.Count)
        {
            array.Add(child);
            return child;
        }
        node.AsObject()[part] = child;
        return child;
    }

    private void Save(JsonObject settings)
    {
        Settings = settings;
        WriteRaw(settings.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
