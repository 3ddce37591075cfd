using Microsoft.Extensions.Options;

namespace CasGateway.Configuration;

/// <summary>One options class bound to one configuration section; the unit of validation and of the JSON schema.</summary>
public record ConfigSection(string Path, Type OptionsType)
{
    /// <summary>
    /// What the section's own validator finds in the bound values (rules beyond the attributes, which
    /// <see cref="ConfigurationValidator"/> checks on the raw text). Called only when the section's text converts.
    /// </summary>
    public virtual IEnumerable<string> ValidateBound(IConfiguration configuration) => [];

    /// <summary>The section's validator for the options system, so a bound instance is never handed out unchecked.</summary>
    public virtual void RegisterValidator(IServiceCollection services)
    {
    }
}

/// <summary>A section whose options class has rules of its own, checked by one <see cref="IValidateOptions{TOptions}"/>.</summary>
public sealed record ConfigSection<T>(string Path, IValidateOptions<T> Validator) : ConfigSection(Path, typeof(T))
    where T : class, new()
{
    public override IEnumerable<string> ValidateBound(IConfiguration configuration)
    {
        var options = new T();
        configuration.GetSection(Path).Bind(options);
        var result = Validator.Validate(Options.DefaultName, options);
        return result.Failed ? result.Failures ?? [] : [];
    }

    public override void RegisterValidator(IServiceCollection services) => services.AddSingleton(Validator);
}

/// <summary>
/// The validator of an options class that states its cross-field rules as <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>
/// (each message names its key path), run through the same one validation path as every other section.
/// </summary>
public sealed class ValidatableOptionsValidator<T> : IValidateOptions<T>
    where T : class, System.ComponentModel.DataAnnotations.IValidatableObject
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var problems = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options))
            .Select(r => r.ErrorMessage ?? "invalid.")
            .ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
