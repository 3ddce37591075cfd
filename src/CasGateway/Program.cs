using CasGateway;
using CasGateway.Authentication;

if (args is ["hash-password", ..])
{
    // Reads a password on standard input and prints the hash to put in the directory file.
    Console.Out.WriteLine(PasswordHash.Create(Console.In.ReadLine() ?? ""));
    return 0;
}

var app = GatewayApp.Build(GatewayApp.CreateBuilder(args));
await app.RunAsync();
return 0;
