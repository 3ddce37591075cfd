using CasGateway.Configuration;
using Microsoft.AspNetCore.DataProtection;

namespace CasGateway.Location;

public static class LocationStage
{
    /// <summary>The locator chosen by <c>Gateway:Locator:Kind</c>, its cache, and the backend cookie.</summary>
    public static WebApplicationBuilder AddLocation(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<LocatorOptions>(LocatorOptions.Section);
        services.AddValidatedOptions<BackendCookieOptions>(BackendCookieOptions.Section);
        services.AddSingleton<DirectoryFileSource>();
        services.AddLocatorStore(builder.Configuration);
        services.AddSingleton<MailboxLocationCache>();
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
