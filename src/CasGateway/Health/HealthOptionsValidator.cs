using CasGateway.Listeners;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary><c>Gateway:Health</c> rules beyond the attributes: component and requester names, thumbprints, the management address.</summary>
internal sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options)
    {
        var problems = new List<string>();
        foreach (var (component, requesters) in options.Components)
        {
            if (!ServerComponents.TryParse(component, out _))
            {
                problems.Add($"{HealthOptions.Section}:Components:{component}: not a component; one of {string.Join(", ", ServerComponents.All)}.");
                continue;
            }
            foreach (var requester in requesters.Keys.Where(r => !ServerComponents.TryParseName<StateRequester>(r, out _)))
            {
                problems.Add($"{HealthOptions.Section}:Components:{component}:{requester}: not a requester; one of {string.Join(", ", Enum.GetNames<StateRequester>())}.");
            }
        }
        for (var i = 0; i < options.AdminCertificateThumbprints.Count; i++)
        {
            var thumbprint = options.AdminCertificateThumbprints[i];
            if (thumbprint.Length != 64 || !thumbprint.All(char.IsAsciiHexDigit))
            {
                problems.Add($"{HealthOptions.Section}:AdminCertificateThumbprints:{i} = \"{thumbprint}\": must be a SHA-256 thumbprint (64 hex digits).");
            }
        }
        if (options.ManagementAddress is { } address && !ListenersStage.TryParseAddress(address, out _))
        {
            problems.Add($"{HealthOptions.Section}:ManagementAddress = \"{address}\": must be Any, Loopback or an IP address.");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
