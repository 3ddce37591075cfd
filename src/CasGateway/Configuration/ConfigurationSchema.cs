using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using CasGateway.Anchoring;

namespace CasGateway.Configuration;

/// <summary>
/// Generates the JSON Schema of appsettings from the options classes (checked in as appsettings.schema.json, kept
/// current by a test), so editors complete and validate settings as admins type.
/// </summary>
public static class ConfigurationSchema
{
    public const string FileName = "appsettings.schema.json";

    public static string Generate()
    {
        var gateway = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = new JsonObject() };
        foreach (var section in GatewayConfiguration.Sections)
        {
            var target = Locate(gateway, section.Path.Split(':').Skip(1).ToArray());
            Merge(target, ForType(section.OptionsType));
        }
        var route = new JsonObject
        {
            ["type"] = "object",
            ["required"] = new JsonArray("Match", "Metadata"),
            ["properties"] = new JsonObject
            {
                ["Match"] = new JsonObject { ["type"] = "object" },
                ["Metadata"] = new JsonObject
                {
                    ["type"] = "object",
                    ["required"] = new JsonArray("Family"),
                    ["properties"] = new JsonObject
                    {
                        ["Family"] = new JsonObject { ["enum"] = new JsonArray([.. Enum.GetNames<ProtocolFamily>().Select(n => (JsonNode)n)]) },
                        ["ForwardClientCredentials"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("true", "false") },
                    },
                },
            },
        };
        var root = new JsonObject
        {
            ["$schema"] = "http://json-schema.org/draft-07/schema#",
            ["title"] = "CasGateway appsettings",
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["Gateway"] = gateway,
                ["AzureAd"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["Instance"] = new JsonObject { ["type"] = "string", ["format"] = "uri" },
                        ["TenantId"] = new JsonObject { ["type"] = "string" },
                        ["ClientId"] = new JsonObject { ["type"] = "string" },
                        ["Audience"] = new JsonObject { ["type"] = "string" },
                    },
                },
                ["ReverseProxy"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["Routes"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = route },
                    },
                },
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";
    }

    private static JsonObject Locate(JsonObject node, string[] path)
    {
        foreach (var part in path)
        {
            var properties = (JsonObject)node["properties"]!;
            if (properties[part] is not JsonObject child)
            {
                child = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = new JsonObject() };
                properties[part] = child;
            }
            node = child;
        }
        return node;
    }

    private static void Merge(JsonObject target, JsonObject source)
    {
        var properties = (JsonObject)target["properties"]!;
        foreach (var (name, value) in (JsonObject)source["properties"]!)
        {
            properties[name] = value!.DeepClone();
        }
    }

    private static JsonObject ForType(Type type)
    {
        var properties = new JsonObject();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var node = ForValue(property.PropertyType);
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
            {
                switch (attribute)
                {
                    case RangeAttribute { OperandType: var operand } range when operand == typeof(int) || operand == typeof(double):
                        node["minimum"] = JsonValue.Create(Convert.ToDouble(range.Minimum, System.Globalization.CultureInfo.InvariantCulture));
                        node["maximum"] = JsonValue.Create(Convert.ToDouble(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case RegularExpressionAttribute regex:
                        node["pattern"] = regex.Pattern;
                        break;
                    case AllowedValuesAttribute allowed:
                        node["enum"] = new JsonArray([.. allowed.Values.Select(v => (JsonNode?)JsonValue.Create(v?.ToString()))]);
                        break;
                }
            }
            properties[property.Name] = node;
        }
        return new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = properties };
    }

    private static JsonObject ForValue(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }
        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = new JsonArray("boolean", "string") };
        }
        if (type == typeof(int) || type == typeof(long))
        {
            return new JsonObject { ["type"] = new JsonArray("integer", "string") };
        }
        if (type == typeof(double))
        {
            return new JsonObject { ["type"] = new JsonArray("number", "string") };
        }
        if (type == typeof(TimeSpan))
        {
            return new JsonObject { ["type"] = "string", ["pattern"] = "^-?(\\d+\\.)?\\d{1,2}:\\d{2}:\\d{2}(\\.\\d+)?$" };
        }
        if (type == typeof(Uri))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "uri" };
        }
        if (type.IsEnum)
        {
            return new JsonObject { ["enum"] = new JsonArray([.. Enum.GetNames(type).Select(n => (JsonNode)n)]) };
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            return new JsonObject { ["type"] = "array", ["items"] = ForValue(type.GetGenericArguments()[0]) };
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var (key, value) = (type.GetGenericArguments()[0], type.GetGenericArguments()[1]);
            if (key.IsEnum)
            {
                var properties = new JsonObject();
                foreach (var name in Enum.GetNames(key))
                {
                    properties[name] = ForValue(value);
                }
                return new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = properties };
            }
            return new JsonObject { ["type"] = "object", ["additionalProperties"] = ForValue(value) };
        }
        return ForType(type);
    }
}
