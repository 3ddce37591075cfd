using CasGateway.Configuration;
using Microsoft.AspNetCore.DataProtection;

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
        services.AddKeyedSingleton<IMailboxLocator, DirectoryFileLocator>(StoreKey);
        services.AddSingleton<MailboxLocationCache>();
        services.AddSingleton<IMailboxLocator>(sp => sp.GetRequiredService<MailboxLocationCache>());
        services.AddSingleton<BackendCookie>();

        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new();
        var keyRing = builder.Configuration[$"{BackendCookieOptions.Section}:KeyRingPath"] is { Length: > 0 } path
            ? Path.GetFullPath(path, builder.Environment.ContentRootPath)
            : Path.Combine(builder.Environment.ResolveDataPath(gateway), "keys");
        services.AddDataProtection()
            .SetApplicationName("CasGateway")
            .PersistKeysToFileSystem(new DirectoryInfo(keyRing));
        return builder;
    }
}
