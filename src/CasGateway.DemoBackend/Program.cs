using System.Text;
using CasGateway.BackendAuth;
using CasGateway.DemoBackend;

// Standalone demo mailbox server (used by bench/): --name mbx1.contoso.com --port 9001 [--identity-key BASE64]
var name = ArgValue("--name") ?? "mbx.contoso.com";
var port = int.Parse(ArgValue("--port") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
var key = ArgValue("--identity-key");
var trust = key is null
    ? null
    : new GatewayTrustOptions { Codec = new GatewayIdentityCodec(Convert.FromBase64String(key), TimeSpan.FromMinutes(1)) };
await using var server = await DemoMailboxServer.StartAsync(new DemoMailboxServerOptions { ServerName = name, Port = port, Trust = trust });
Console.Out.WriteLine(new StringBuilder().Append(name).Append(" listening on ").Append(server.BaseAddress).ToString());
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;

string? ArgValue(string flag)
{
    var index = Array.IndexOf(args, flag);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
