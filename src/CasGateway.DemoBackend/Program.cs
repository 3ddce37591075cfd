using System.Globalization;
using CasGateway.BackendAuth;

namespace CasGateway.DemoBackend;

/// <summary>
/// Standalone demo mailbox server (used by bench/): <c>--name mbx1.contoso.com --port 9001 [--identity-public-key FILE]</c>.
/// It serves plain HTTP, so only the signed identity (ECDSA, the gateway's PEM public key) can be checked.
/// </summary>
internal static class DemoBackendProgram
{
    public static async Task Main(string[] args)
    {
        var name = ArgValue(args, "--name") ?? "mbx.contoso.com";
        var port = int.Parse(ArgValue(args, "--port") ?? "0", CultureInfo.InvariantCulture);
        var key = ArgValue(args, "--identity-public-key");
        var trust = key is null
            ? null
            : new GatewayTrustOptions
            {
                Codec = EcdsaGatewayIdentityCodec.FromPublicKeyPem(File.ReadAllText(key), TimeSpan.FromMinutes(1)),
                Audience = name,
                RequireClientCertificate = false,
            };
        await using var server = await DemoMailboxServer.StartAsync(new DemoMailboxServerOptions { ServerName = name, Port = port, Trust = trust });
        Console.Out.WriteLine($"{name} listening on {server.BaseAddress}");
        var stop = new TaskCompletionSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });
        await stop.Task;
    }

    private static string? ArgValue(string[] args, string flag)
    {
        var index = Array.IndexOf(args, flag);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
