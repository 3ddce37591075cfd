using CasGateway.Configuration;

namespace CasGateway.Location;

public static class LocationStage
{
    /// <summary>
    /// The key of the store behind the cache: only <see cref="MailboxLocationCache"/> (and the locator health check,
    /// which probes the store itself) ask for it; everyone else gets the cache as <see cref="IMailboxLocator"/>.
    /// </summary>
    public const string StoreKey = "store";

    /// <summary>The store chosen by <c>Gateway:Locator:Kind</c>, the cache in front of it, and the backend cookie.</summary>
    public static WebApplicationBuilder AddLocation(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<LocatorOptions>(LocatorOptions.Section);
        services.AddValidatedOptions<BackendCookieOptions>(BackendCookieOptions.Section);
        services.AddSingleton<DirectoryFileSource>();
        services.AddLocatorStore(builder.Configuration);
        services.AddSingleton<MailboxLocationCache>();
        services.AddSingleton<IMailboxLocator>(sp => sp.GetRequiredService<MailboxLocationCache>());
        services.AddSingleton<BackendCookie>();
        return builder;
    }
}
