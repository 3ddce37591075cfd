using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

/// <summary><c>Gateway:Listeners</c> client-address rules: every trusted entry is an address or network, the PROXY header timeout is bounded.</summary>
internal sealed class ClientAddressOptionsValidator : IValidateOptions<ClientAddressOptions>
{
    public ValidateOptionsResult Validate(string? name, ClientAddressOptions options)
    {
        var problems = new List<string>();
        Networks(problems, $"{ListenerOptions.Section}:TrustedProxies", options.TrustedProxies);
        Networks(problems, $"{ListenerOptions.Section}:ProxyProtocol:TrustedBalancers", options.ProxyProtocol.TrustedBalancers);
        if (!ClientAddressOptions.IsValidTimeout(options.ProxyProtocol.HeaderTimeout))
        {
            problems.Add($"{ListenerOptions.Section}:ProxyProtocol:HeaderTimeout = \"{options.ProxyProtocol.HeaderTimeout}\": must be between 00:00:00.1 and 00:01:00.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void Networks(List<string> problems, string key, List<string> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (!ClientAddressOptions.TryParseNetwork(entries[i], out _))
            {
                problems.Add($"{key}:{i} = \"{entries[i]}\": must be an IP address or a CIDR network (e.g. 10.0.0.5, 10.0.0.0/8).");
            }
        }
    }
}
