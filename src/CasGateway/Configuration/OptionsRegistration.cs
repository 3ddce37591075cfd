using Microsoft.Extensions.Options;

namespace CasGateway.Configuration;

internal static class OptionsRegistration
{
    /// <summary>
    /// Binds a section and validates its data annotations (a second line of defence: <see cref="GatewayConfiguration"/>
    /// reports every problem of the whole configuration before any stage reads it).
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section)
        where T : class
        => services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();

    /// <summary>The data folder, resolved against the content root.</summary>
    public static string ResolveDataPath(this IHostEnvironment environment, GatewayOptions options)
        => Path.GetFullPath(options.DataPath, environment.ContentRootPath);
}
