using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace CasGateway.Configuration;

/// <summary>
/// The shape of a configuration against the gateway's options classes, every problem at once: values that do not
/// convert, values outside what the class's attributes allow, and keys no class knows (typos). Each problem names
/// the full key path and the bad value (secrets masked) and says what is allowed. The attributes are checked here,
/// on the raw text, rather than by a generated <c>[OptionsValidator]</c>: only the text still holds what the admin
/// wrote ("lots" for a number) and its key path; a bound object has lost both. Rules beyond the attributes are each
/// options class's <c>IValidateOptions</c>; <see cref="GatewayConfiguration.Check"/> runs all of them.
/// </summary>
public static class ConfigurationValidator
{
    private static readonly string[] SecretWords = ["password", "secret", "signingkey", "clientsecret"];

    public static IReadOnlyList<string> Validate(IConfiguration configuration, IEnumerable<ConfigSection> sections)
    {
        var problems = new List<string>();
        var known = sections.ToList();
        foreach (var section in known)
        {
            ValidateObject(configuration, section.Path, section.OptionsType, Activator.CreateInstance(section.OptionsType), problems, known);
        }
        return problems;
    }

    /// <summary>The value as it may be shown: secrets are masked.</summary>
    public static string Show(string key, string? value)
    {
        if (value is null)
        {
            return "(missing)";
        }
        var leaf = key[(key.LastIndexOf(':') + 1)..].ToLowerInvariant();
        return SecretWords.Any(leaf.Contains) ? "\"***\"" : "\"" + value + "\"";
    }

    private static void ValidateObject(IConfiguration configuration, string path, Type type, object? defaults, List<string> problems, List<ConfigSection> sections)
    {
        var section = configuration.GetSection(path);
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.CanWrite || IsCollection(p.PropertyType)))
            .ToList();
        foreach (var child in section.GetChildren())
        {
            var childPath = path + ":" + child.Key;
            if (properties.Any(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase))
                || SiblingProperties(sections, path, type).Any(n => string.Equals(n, child.Key, StringComparison.OrdinalIgnoreCase))
                || sections.Any(s => string.Equals(s.Path, childPath, StringComparison.OrdinalIgnoreCase))
                || child.Key == "$schema")
            {
                continue;
            }
            var candidates = properties.Select(p => p.Name)
                .Concat(sections.Where(s => s.Path.StartsWith(path + ":", StringComparison.OrdinalIgnoreCase)).Select(s => s.Path[(path.Length + 1)..].Split(':')[0]));
            var suggestion = candidates.MinBy(n => Distance(n, child.Key));
            problems.Add($"{childPath}: unknown setting{(suggestion is not null && Distance(suggestion, child.Key) <= 3 ? $"; did you mean '{suggestion}'?" : ".")}");
        }
        foreach (var property in properties)
        {
            ValidateProperty(configuration, path + ":" + property.Name, property.PropertyType, property, defaults is null ? null : property.GetValue(defaults), problems, sections);
        }
    }

    /// <summary>Settings of other options classes bound to the same section (e.g. listeners and client addresses).</summary>
    private static IEnumerable<string> SiblingProperties(List<ConfigSection> sections, string path, Type type)
        => sections.Where(s => s.OptionsType != type && string.Equals(s.Path, path, StringComparison.OrdinalIgnoreCase))
            .SelectMany(s => s.OptionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name));

    private static void ValidateProperty(IConfiguration configuration, string key, Type type, PropertyInfo? property, object? fallback, List<string> problems, List<ConfigSection> sections)
    {
        var section = configuration.GetSection(key);
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (IsSimple(underlying))
        {
            object? value = fallback;
            if (section.Value is { } text)
            {
                if (!TryConvert(underlying, text, out value))
                {
                    problems.Add($"{key} = {Show(key, text)}: not {Describe(underlying)}.");
                    return;
                }
            }
            else if (section.GetChildren().Any())
            {
                problems.Add($"{key}: expected a single value ({Describe(underlying)}), found a section.");
                return;
            }
            if (property is null)
            {
                return;
            }
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
            {
                var result = attribute.GetValidationResult(value, new ValidationContext(new object()) { MemberName = property.Name, DisplayName = property.Name });
                if (result != ValidationResult.Success)
                {
                    problems.Add($"{key} = {Show(key, section.Value ?? (value as IFormattable)?.ToString(null, CultureInfo.InvariantCulture) ?? value?.ToString())}: {Explain(attribute, result)}");
                }
            }
            return;
        }
        // An empty JSON array or object reads as an empty value: that is an empty collection, not a mistake.
        if (section.Value is { Length: > 0 } scalar)
        {
            var expected = underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>) ? "a list (JSON array)" : "a section of settings";
            problems.Add($"{key} = {Show(key, scalar)}: expected {expected}, found a single value.");
            return;
        }
        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var (keyType, valueType) = (underlying.GetGenericArguments()[0], underlying.GetGenericArguments()[1]);
            foreach (var child in section.GetChildren())
            {
                if (keyType.IsEnum && !Enum.TryParse(keyType, child.Key, ignoreCase: true, out _))
                {
                    problems.Add($"{key}:{child.Key}: '{child.Key}' is not one of {string.Join(", ", Enum.GetNames(keyType))}.");
                    continue;
                }
                ValidateElement(configuration, key + ":" + child.Key, valueType, problems, sections);
            }
            return;
        }
        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>))
        {
            var elementType = underlying.GetGenericArguments()[0];
            foreach (var child in section.GetChildren())
            {
                if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{key}:{child.Key}: expected a list (JSON array).");
                    continue;
                }
                ValidateElement(configuration, key + ":" + child.Key, elementType, problems, sections);
            }
            return;
        }
        if (section.Exists() || fallback is not null)
        {
            ValidateObject(configuration, key, underlying, fallback ?? Activator.CreateInstance(underlying), problems, sections);
        }
    }

    private static void ValidateElement(IConfiguration configuration, string key, Type type, List<string> problems, List<ConfigSection> sections)
    {
        if (IsSimple(Nullable.GetUnderlyingType(type) ?? type) || IsCollection(type))
        {
            ValidateProperty(configuration, key, type, null, null, problems, sections);
            return;
        }
        var instance = Activator.CreateInstance(type);
        ValidateObject(configuration, key, type, instance, problems, sections);
        foreach (var property in type.GetProperties().Where(p => p.GetCustomAttribute<RequiredAttribute>() is not null))
        {
            if (configuration.GetSection(key + ":" + property.Name).Value is null && IsSimple(property.PropertyType) && property.PropertyType == typeof(string)
                && string.IsNullOrEmpty((string?)property.GetValue(instance)))
            {
                problems.Add($"{key}:{property.Name}: required.");
            }
        }
    }

    private static bool TryConvert(Type type, string text, out object? value)
    {
        value = null;
        try
        {
            if (type == typeof(Uri))
            {
                value = new Uri(text, UriKind.RelativeOrAbsolute);
                return true;
            }
            value = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(text);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return false;
        }
        catch (Exception ex) when (ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Explain(ValidationAttribute attribute, ValidationResult? result) => attribute switch
    {
        RangeAttribute range => $"must be between {range.Minimum} and {range.Maximum}.",
        RequiredAttribute => "required.",
        AllowedValuesAttribute allowed => $"must be one of {string.Join(", ", allowed.Values)}.",
        UrlAttribute => "must be an absolute http(s) URL.",
        _ => (result?.ErrorMessage ?? "invalid.").TrimEnd('.') + ".",
    };

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "a whole number",
        _ when type == typeof(double) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(TimeSpan) => "a duration such as 00:00:30",
        _ when type == typeof(Uri) => "a URL",
        _ when type == typeof(Guid) => "a GUID",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ => "a " + type.Name,
    };

    public static bool IsSimple(Type type)
        => type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(TimeSpan) || type == typeof(Uri) || type == typeof(Guid) || type == typeof(decimal);

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    private static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            previous = current;
        }
        return previous[b.Length];
    }
}
