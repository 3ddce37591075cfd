using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Listeners;

/// <summary><c>Gateway:Listeners</c> rules beyond the attributes: the bind address parses.</summary>
internal sealed class ListenerOptionsValidator : IValidateOptions<ListenerOptions>
{
    public ValidateOptionsResult Validate(string? name, ListenerOptions options)
        => ListenersStage.TryParseAddress(options.Address, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{ListenerOptions.Section}:Address = {ConfigurationValidator.Show("Address", options.Address)}: must be Any, Loopback or an IP address (e.g. 0.0.0.0, ::1).");
}
