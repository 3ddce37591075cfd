using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Forwarding;

/// <summary>
/// <c>Gateway:Backend</c> rules beyond the attributes: a legacy HMAC signing key, when set, is base64 of at least 32 bytes.
/// Whether one must be set depends on demo mode, a cross-section rule (<see cref="GatewayConfigurationRules"/>).
/// </summary>
internal sealed class BackendOptionsValidator : IValidateOptions<BackendOptions>
{
    public ValidateOptionsResult Validate(string? name, BackendOptions options)
    {
        const string key = $"{BackendOptions.Section}:Identity:SigningKey";
        var value = options.Identity.SigningKey;
        return options.Identity.Algorithm != IdentitySigningAlgorithm.HmacSha256 || string.IsNullOrEmpty(value) || IsKey(value)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{key} = {ConfigurationValidator.Show(key, value)}: must be base64 of at least 32 bytes.");
    }

    private static bool IsKey(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var length) && length >= 32;
    }
}
