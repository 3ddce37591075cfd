using CasGateway.Configuration;

namespace CasGateway.Routing;

public static class RoutingStage
{
    /// <summary>The decision table (proxy here / across / redirect / reject) and the proxy-pipeline step that applies it.</summary>
    public static WebApplicationBuilder AddRouting(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SiteRoutingOptions>(SiteRoutingOptions.Section);
        builder.Services.AddSingleton<RoutingRules>();
        builder.Services.AddSingleton<MailboxRoutingStep>();
        return builder;
    }
}
