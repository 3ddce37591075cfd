using CasGateway;
using CasGateway.Configuration;
using CasGateway.Listeners;
using CasGateway.Location;
using Microsoft.Extensions.Options;

if (GatewayCommands.TryRun(args, Console.In, Console.Out, Console.Error) is { } exitCode)
{
    return exitCode;
}

try
{
    var app = GatewayApp.Build(GatewayApp.CreateBuilder(args));
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is GatewayConfigurationException or DirectoryLoadException or CertificateLoadException or OptionsValidationException)
{
    // Refuse to start, naming every problem: nothing is served with a configuration that cannot be trusted.
    Console.Error.WriteLine("CasGateway cannot start. " + ex.Message);
    return GatewayCommands.Invalid;
}
