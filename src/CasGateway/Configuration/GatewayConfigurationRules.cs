using CasGateway.Anchoring;
using CasGateway.Authentication;
using CasGateway.Demo;
using CasGateway.Forwarding;
using CasGateway.Routing;

namespace CasGateway.Configuration;

/// <summary>
/// The rules that span sections (or live outside the gateway's own options classes), in one place: YARP routes,
/// bearer tokens, the identity signing key outside demo mode, and that some client can authenticate.
/// </summary>
internal static class GatewayConfigurationRules
{
    public static IEnumerable<string> Check(IConfiguration configuration)
        => Routes(configuration).Concat(AzureAd(configuration)).Concat(SigningKey(configuration)).Concat(AuthenticationSchemes(configuration))
            .Concat(KeyRing(configuration)).Concat(Location.LocatorKinds.Problems(configuration));

    /// <summary>A shared key ring needs where it is shared, and a certificate: its keys leave this machine.</summary>
    private static IEnumerable<string> KeyRing(IConfiguration configuration)
    {
        var kind = configuration["Gateway:KeyRing:Kind"];
        if (kind is null || kind.Equals("Local", StringComparison.OrdinalIgnoreCase))
        {
            yield break;
        }
        if (kind.Equals("Redis", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(configuration["Gateway:Redis:Configuration"]))
        {
            yield return "Gateway:Redis:Configuration: required when Gateway:KeyRing:Kind is Redis, e.g. \"redis:6379,password=…\".";
        }
        if (kind.Equals("Directory", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(configuration["Gateway:KeyRing:Path"]))
        {
            yield return "Gateway:KeyRing:Path: required when Gateway:KeyRing:Kind is Directory: the folder every node mounts.";
        }
        if (string.IsNullOrWhiteSpace(configuration["Gateway:KeyRing:Certificate:Path"]))
        {
            yield return $"Gateway:KeyRing:Certificate:Path: required when Gateway:KeyRing:Kind is {kind}: keys that leave this machine are encrypted at rest.";
        }
    }

    /// <summary>YARP routes: every route names a known protocol family and, if any, the mailbox cluster.</summary>
    private static IEnumerable<string> Routes(IConfiguration configuration)
    {
        foreach (var route in configuration.GetSection("ReverseProxy:Routes").GetChildren())
        {
            var family = route["Metadata:Family"];
            if (!Enum.TryParse<ProtocolFamily>(family, ignoreCase: true, out _))
            {
                yield return $"ReverseProxy:Routes:{route.Key}:Metadata:Family = {ConfigurationValidator.Show("Family", family)}: not one of {string.Join(", ", Enum.GetNames<ProtocolFamily>())}.";
            }
            if (route["Match:Path"] is null && !route.GetSection("Match:Hosts").GetChildren().Any())
            {
                yield return $"ReverseProxy:Routes:{route.Key}:Match:Path: required (e.g. \"/owa/{{**rest}}\").";
            }
            if (route["ClusterId"] is { } cluster && cluster != RouteMetadata.MailboxCluster)
            {
                yield return $"ReverseProxy:Routes:{route.Key}:ClusterId = \"{cluster}\": must be '{RouteMetadata.MailboxCluster}' or omitted.";
            }
        }
    }

    /// <summary>Bearer tokens: when a client id is set, the issuer must be fully described.</summary>
    private static IEnumerable<string> AzureAd(IConfiguration configuration)
    {
        var azureAd = configuration.GetSection("AzureAd");
        if (string.IsNullOrEmpty(azureAd["ClientId"]))
        {
            yield break;
        }
        if (!Uri.TryCreate(azureAd["Instance"], UriKind.Absolute, out var instance) || instance.Scheme != Uri.UriSchemeHttps)
        {
            yield return $"AzureAd:Instance = {ConfigurationValidator.Show("Instance", azureAd["Instance"])}: must be an absolute https URL (e.g. https://login.microsoftonline.com/).";
        }
        // One tenant, named by its GUID: with "common" or "organizations" any tenant's tokens — and any tenant's
        // admin-assigned roles — would be accepted.
        if (!Guid.TryParse(azureAd["TenantId"], out _))
        {
            yield return $"AzureAd:TenantId = {ConfigurationValidator.Show("TenantId", azureAd["TenantId"])}: required when AzureAd:ClientId is set: the GUID of the one tenant whose tokens are accepted (not common, organizations or consumers).";
        }
    }

    /// <summary>
    /// The identity signing key, required outside demo mode: the ECDSA private key file (default), or — with
    /// <c>Algorithm: HmacSha256</c>, the legacy form — a base64 shared key (its form is <see cref="BackendOptionsValidator"/>'s).
    /// </summary>
    private static IEnumerable<string> SigningKey(IConfiguration configuration)
    {
        const string key = $"{BackendOptions.Section}:Identity:SigningKey";
        const string path = $"{BackendOptions.Section}:Identity:PrivateKeyPath";
        var demo = configuration.GetValue<bool>($"{DemoOptions.Section}:Enabled");
        var legacy = string.Equals(configuration[$"{BackendOptions.Section}:Identity:Algorithm"], "HmacSha256", StringComparison.OrdinalIgnoreCase);
        var value = configuration[key];
        if (!legacy)
        {
            if (string.IsNullOrEmpty(configuration[path]) && !demo)
            {
                yield return $"{path}: required: the PEM file of the gateway's ECDSA P-256 private key (backends get its public key; generated only in demo mode).";
            }
            if (!string.IsNullOrEmpty(value))
            {
                yield return $"{key} = {ConfigurationValidator.Show(key, value)}: only used with {BackendOptions.Section}:Identity:Algorithm = HmacSha256 (legacy); remove it or set the algorithm.";
            }
        }
        else if (string.IsNullOrEmpty(value) && !demo)
        {
            yield return $"{key}: required: a base64 key of at least 32 bytes shared with the mailbox backends (generated only in demo mode).";
        }
    }

    /// <summary>With Basic off and no bearer issuer, no client could ever sign in.</summary>
    private static IEnumerable<string> AuthenticationSchemes(IConfiguration configuration)
    {
        var basic = configuration.GetValue($"{GatewayAuthenticationOptions.Section}:BasicEnabled", defaultValue: true);
        if (!basic && string.IsNullOrEmpty(configuration["AzureAd:ClientId"]))
        {
            yield return $"{GatewayAuthenticationOptions.Section}:BasicEnabled = \"false\": with AzureAd:ClientId unset no client could authenticate; enable Basic or configure AzureAd.";
        }
    }
}
