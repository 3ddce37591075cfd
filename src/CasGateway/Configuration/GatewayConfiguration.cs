using CasGateway.Authentication;
using CasGateway.Autodiscover;
using CasGateway.Authentication.Browser;
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
        new ConfigSection<ListenerOptions>(ListenerOptions.Section, new ListenerOptionsValidator()),
        new ConfigSection<ClientAddressOptions>(ListenerOptions.Section, new ClientAddressOptionsValidator()),
        new(GatewayAuthenticationOptions.Section, typeof(GatewayAuthenticationOptions)),
        new ConfigSection<BrowserSignInOptions>(GatewayAuthenticationOptions.Section, new ValidatableOptionsValidator<BrowserSignInOptions>()),
        new(LocatorOptions.Section, typeof(LocatorOptions)),
        new(BackendCookieOptions.Section, typeof(BackendCookieOptions)),
        new(SiteRoutingOptions.Section, typeof(SiteRoutingOptions)),
        new ConfigSection<AutodiscoverOptions>(AutodiscoverOptions.Section, new ValidatableOptionsValidator<AutodiscoverOptions>()),
        new ConfigSection<BackendOptions>(BackendOptions.Section, new BackendOptionsValidator()),
        new(ProtocolLogOptions.Section, typeof(ProtocolLogOptions)),
        new ConfigSection<TelemetryOptions>(TelemetryOptions.Section, new TelemetryOptionsValidator()),
        new ConfigSection<HealthOptions>(HealthOptions.Section, new HealthOptionsValidator()),
        new ConfigSection<MailOptions>(MailOptions.Section, new MailOptionsValidator()),
        new ConfigSection<SipOptions>(SipOptions.Section, new ValidatableOptionsValidator<SipOptions>()),
        new(KeyRingOptions.Section, typeof(KeyRingOptions)),
        new(RedisOptions.Section, typeof(RedisOptions)),
        new(ThrottlingOptions.Section, typeof(ThrottlingOptions)),
    ];

    /// <summary>
    /// Every problem in <paramref name="configuration"/>; empty when it can be used. The one validation path: start-up,
    /// the <c>validate</c> command and the reload guard all call this. It checks the shape and the attributes of every
    /// section, then each options class's own validator on the bound values (without the values already reported, so
    /// one mistake is reported once and the others still are), then the rules that span sections.
    /// </summary>
    public static IReadOnlyList<string> Check(IConfiguration configuration)
    {
        var problems = ConfigurationValidator.Validate(configuration, Sections).ToList();
        var reported = problems.Select(KeyOf).ToList();
        var bindable = new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.AsEnumerable().Where(kv => !reported.Any(r => IsAtOrUnder(kv.Key, r))))
            .Build();
        foreach (var section in Sections)
        {
            problems.AddRange(section.ValidateBound(bindable));
        }
        problems.AddRange(GatewayConfigurationRules.Check(bindable));
        return problems;
    }

    /// <summary>The key path a problem starts with (<c>key = value: why</c> or <c>key: why</c>).</summary>
    private static string KeyOf(string problem)
    {
        var end = problem.IndexOf(" = ", StringComparison.Ordinal);
        var colon = problem.IndexOf(": ", StringComparison.Ordinal);
        end = end < 0 ? colon : colon < 0 ? end : Math.Min(end, colon);
        return end < 0 ? problem : problem[..end];
    }

    private static bool IsAtOrUnder(string key, string path)
        => key.Equals(path, StringComparison.OrdinalIgnoreCase)
            || (key.Length > path.Length && key[path.Length] == ':' && key.StartsWith(path, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The configuration cannot be used; <see cref="Problems"/> lists every reason.</summary>
public sealed class GatewayConfigurationException(IReadOnlyList<string> problems)
    : Exception($"Configuration has {problems.Count} problem(s):" + string.Concat(problems.Select(p => Environment.NewLine + "  " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
