using CasGateway.Authentication;
using CasGateway.Location;

namespace CasGateway.Configuration;

/// <summary>The gateway binary's commands besides running: <c>validate</c>, <c>schema</c>, <c>hash-password</c>, <c>explain</c>, <c>probe</c>.</summary>
public static class GatewayCommands
{
    public const int Invalid = 2;

    /// <summary>Runs a command if <paramref name="args"/> names one; null otherwise (run the gateway).</summary>
    public static int? TryRun(string[] args, TextReader input, TextWriter output, TextWriter error) => args switch
    {
        ["hash-password", ..] => HashPassword(input, output),
        ["validate", var file, ..] => Validate(file, output, error),
        ["validate"] => Validate("appsettings.json", output, error),
        ["schema", ..] => Schema(output),
        ["explain", .. var rest] => Explain(rest, output, error),
        ["directory", .. var rest] => Location.Sql.SqlDirectoryCommands.Run(rest, output, error),
        ["probe", var url] => Probe(url, output, error),
        _ => null,
    };

    /// <summary>Checks a configuration file offline: the same report the gateway prints when it refuses to start.</summary>
    public static int Validate(string file, TextWriter output, TextWriter error)
    {
        var path = Path.GetFullPath(file);
        IConfiguration configuration;
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or FormatException)
        {
            error.WriteLine($"Configuration file '{path}' cannot be used: {ex.InnerException?.Message ?? ex.Message}");
            return Invalid;
        }
        var problems = GatewayConfiguration.Check(configuration).ToList();
        var kind = configuration[$"{LocatorOptions.Section}:Kind"] ?? LocatorKinds.File;
        if (problems.Count == 0 && string.Equals(kind, LocatorKinds.File, StringComparison.OrdinalIgnoreCase)
            && configuration[$"{LocatorOptions.Section}:File:Path"] is { } directory)
        {
            try
            {
                DirectoryFileSource.Load(Path.GetFullPath(directory, Path.GetDirectoryName(path)!));
            }
            catch (DirectoryLoadException ex)
            {
                problems.Add($"{LocatorOptions.Section}:File:Path: {ex.Message}");
            }
        }
        if (problems.Count > 0)
        {
            error.WriteLine(new GatewayConfigurationException(problems).Message);
            return Invalid;
        }
        output.WriteLine($"Configuration '{path}' is valid.");
        return 0;
    }

    /// <summary>
    /// <c>explain --url URL [--method M] [--header "Name: value"]… [--user ADDRESS] [config overrides]</c>: the
    /// admin endpoint's answer from the command line, against this node's configuration and directory.
    /// </summary>
    private static int Explain(string[] args, TextWriter output, TextWriter error)
    {
        string? url = null;
        string? user = null;
        var method = "GET";
        var headers = new Dictionary<string, string>();
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--url" when value is not null:
                    url = value;
                    i++;
                    break;
                case "--method" when value is not null:
                    method = value;
                    i++;
                    break;
                case "--user" when value is not null:
                    user = value;
                    i++;
                    break;
                case "--header" when value?.IndexOf(':', StringComparison.Ordinal) > 0:
                    headers[value[..value.IndexOf(':', StringComparison.Ordinal)].Trim()] = value[(value.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                    i++;
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }
        if (url is null)
        {
            error.WriteLine("explain needs --url, e.g. explain --url https://mail.contoso.com/owa/ --user alice@contoso.com");
            return Invalid;
        }
        var builder = GatewayApp.CreateBuilder([.. rest, "--Serilog:MinimumLevel:Default=Warning"]);
        using var app = GatewayApp.Build(builder);
        var explainer = app.Services.GetRequiredService<Routing.RouteExplainer>();
        var answer = explainer.ExplainAsync(new Routing.ExplainRequest(method, url, headers, user), CancellationToken.None).GetAwaiter().GetResult();
        output.WriteLine(System.Text.Json.JsonSerializer.Serialize(answer, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>
    /// <c>probe URL</c>: one GET, exit 0 on a 2xx answer and 1 otherwise — the container health check, since the
    /// runtime image has no curl.
    /// </summary>
    private static int Probe(string url, TextWriter output, TextWriter error)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            error.WriteLine($"probe needs an http or https URL, e.g. probe http://127.0.0.1:8080/healthz (got '{url}')");
            return Invalid;
        }
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = client.GetAsync(uri).GetAwaiter().GetResult();
            output.WriteLine($"{(int)response.StatusCode} {response.ReasonPhrase}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            error.WriteLine($"{uri}: {ex.Message}");
            return 1;
        }
    }

    private static int Schema(TextWriter output)
    {
        output.Write(ConfigurationSchema.Generate());
        return 0;
    }

    /// <summary>Reads a password on standard input and prints the hash to put in the directory file.</summary>
    private static int HashPassword(TextReader input, TextWriter output)
    {
        output.WriteLine(PasswordHash.Create(input.ReadLine() ?? ""));
        return 0;
    }
}
