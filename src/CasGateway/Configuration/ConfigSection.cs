namespace CasGateway.Configuration;

/// <summary>One options class bound to one configuration section; the unit of validation and of the JSON schema.</summary>
public sealed record ConfigSection(string Path, Type OptionsType);
