using CasGateway.Configuration;

namespace CasGateway.Location.Sql;

/// <summary>
/// <c>directory init</c> creates the SQL directory's schema; <c>directory import FILE.json</c> checks a directory
/// file exactly as the File store would and replaces the SQL directory's contents with it in one transaction.
/// Settings come from <c>Gateway:Locator:Sql</c> in appsettings.json (current folder), the environment and
/// <c>--Key=value</c> arguments, as for the gateway itself.
/// </summary>
public static class SqlDirectoryCommands
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var (command, file, rest) = args switch
        {
            ["init", .. var r] => ("init", null, r),
            ["import", var f, .. var r] when !f.StartsWith("--", StringComparison.Ordinal) => ("import", f, r),
            _ => (null, null, args),
        };
        if (command is null)
        {
            error.WriteLine("usage: directory init [--Gateway:Locator:Sql:Provider=Sqlite|PostgreSql --Gateway:Locator:Sql:ConnectionString=...]");
            error.WriteLine("       directory import FILE.json [same settings]");
            return GatewayCommands.Invalid;
        }
        var root = Directory.GetCurrentDirectory();
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(root, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(rest)
            .Build();
        var options = configuration.GetSection(LocatorOptions.Section).Get<LocatorOptions>()?.Sql ?? new SqlLocatorOptions();
        var problems = options.Problems($"{LocatorOptions.Section}:Sql").ToList();
        if (problems.Count > 0)
        {
            error.WriteLine(new GatewayConfigurationException(problems).Message);
            return GatewayCommands.Invalid;
        }
        using var directory = new SqlDirectory(options, root);
        try
        {
            if (command == "init")
            {
                directory.InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
                output.WriteLine($"Directory schema ready in {directory.Description}.");
                return 0;
            }
            var path = Path.GetFullPath(file!);
            var document = DirectoryParser.ParseDocument(path, File.ReadAllBytes(path));
            directory.InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
            directory.ImportAsync(document, CancellationToken.None).GetAwaiter().GetResult();
            output.WriteLine($"Imported {document.Mailboxes.Count} mailboxes, {document.Databases.Count} databases and {document.Servers.Count} servers from '{path}' into {directory.Description}.");
            return 0;
        }
        catch (DirectoryLoadException ex)
        {
            error.WriteLine(ex.Message);
            return GatewayCommands.Invalid;
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"directory {command} failed against {directory.Description}: {ex.Message}");
            return 1;
        }
    }
}
