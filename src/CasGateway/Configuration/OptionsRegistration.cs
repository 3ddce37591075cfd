using Microsoft.Extensions.Options;

namespace CasGateway.Configuration;

internal static class OptionsRegistration
{
    /// <summary>
    /// Binds a section and registers its validator from <see cref="GatewayConfiguration.Sections"/>, the same one
    /// <see cref="GatewayConfiguration.Check"/> runs, so a bound instance is never handed out unchecked.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section)
        where T : class
    {
        foreach (var known in GatewayConfiguration.Sections.Where(s => s.OptionsType == typeof(T)))
        {
            known.RegisterValidator(services);
        }
        return services.AddOptions<T>().BindConfiguration(section);
    }

    /// <summary>The data folder, resolved against the content root.</summary>
    public static string ResolveDataPath(this IHostEnvironment environment, GatewayOptions options)
        => Path.GetFullPath(options.DataPath, environment.ContentRootPath);
}
