using CasGateway.Configuration;

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
        return builder;
    }
}
