using CasGateway.Configuration;

namespace CasGateway.Location;

public static class LocationStage
{
    /// <summary>The locator chosen by <c>Gateway:Locator:Kind</c>.</summary>
    public static WebApplicationBuilder AddLocation(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<LocatorOptions>(LocatorOptions.Section);
        builder.Services.AddSingleton<DirectoryFileSource>();
        builder.Services.AddSingleton<IMailboxLocator, DirectoryFileLocator>();
        return builder;
    }
}
