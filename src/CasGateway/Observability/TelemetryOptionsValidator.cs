using System.Net;
using Microsoft.Extensions.Options;

namespace CasGateway.Observability;

/// <summary><c>Gateway:Telemetry</c> rules beyond the attributes: scrape networks in CIDR form, an http(s) collector.</summary>
internal sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options)
    {
        var problems = new List<string>();
        for (var i = 0; i < options.ScrapeAllowedNetworks.Count; i++)
        {
            if (!IPNetwork.TryParse(options.ScrapeAllowedNetworks[i], out _))
            {
                problems.Add($"{TelemetryOptions.Section}:ScrapeAllowedNetworks:{i} = \"{options.ScrapeAllowedNetworks[i]}\": must be a network in CIDR form (e.g. 10.0.0.0/8).");
            }
        }
        if (options.OtlpEndpoint is { } endpoint && !(endpoint.IsAbsoluteUri && endpoint.Scheme is "http" or "https"))
        {
            problems.Add($"{TelemetryOptions.Section}:OtlpEndpoint = \"{endpoint}\": must be an absolute http(s) URL (e.g. http://collector:4317).");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
