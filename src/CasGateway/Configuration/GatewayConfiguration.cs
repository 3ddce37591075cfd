using CasGateway.Authentication;
using CasGateway.Autodiscover;
using CasGateway.Demo;
using CasGateway.Forwarding;
using CasGateway.Health;
using CasGateway.Listeners;
using CasGateway.Location;
using CasGateway.Mail;
using CasGateway.Observability;
using CasGateway.Routing;
using CasGateway.Scale;
using CasGateway.Sip;
using CasGateway.Throttling;

namespace CasGateway.Configuration;

/// <summary>
/// The configuration model: every options class and the section it is bound to, in request-path order. It drives
/// start-up validation, the <c>validate</c> command, reload checks and the published JSON schema.
/// </summary>
public static class GatewayConfiguration
{
    public static readonly IReadOnlyList<ConfigSection> Sections =
    [
        new(GatewayOptions.Section, typeof(GatewayOptions)),
        new(DemoOptions.Section, typeof(DemoOptions)),
        new(ListenerOptions.Section, typeof(ListenerOptions)),
        new(ListenerOptions.Section, typeof(ClientAddressOptions)),
        new(GatewayAuthenticationOptions.Section, typeof(GatewayAuthenticationOptions)),
        new(LocatorOptions.Section, typeof(LocatorOptions)),
        new(BackendCookieOptions.Section, typeof(BackendCookieOptions)),
        new(SiteRoutingOptions.Section, typeof(SiteRoutingOptions)),
        new(AutodiscoverOptions.Section, typeof(AutodiscoverOptions)),
        new(BackendOptions.Section, typeof(BackendOptions)),
        new(ProtocolLogOptions.Section, typeof(ProtocolLogOptions)),
        new(TelemetryOptions.Section, typeof(TelemetryOptions)),
        new(HealthOptions.Section, typeof(HealthOptions)),
        new(MailOptions.Section, typeof(MailOptions)),
        new(SipOptions.Section, typeof(SipOptions)),
        new(KeyRingOptions.Section, typeof(KeyRingOptions)),
        new(RedisOptions.Section, typeof(RedisOptions)),
        new(ThrottlingOptions.Section, typeof(ThrottlingOptions)),
    ];

    /// <summary>Every problem in <paramref name="configuration"/>; empty when it can be used.</summary>
    public static IReadOnlyList<string> Check(IConfiguration configuration) => ConfigurationValidator.Validate(configuration, Sections);
}

/// <summary>The configuration cannot be used; <see cref="Problems"/> lists every reason.</summary>
public sealed class GatewayConfigurationException(IReadOnlyList<string> problems)
    : Exception($"Configuration has {problems.Count} problem(s):" + string.Concat(problems.Select(p => Environment.NewLine + "  " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
