using CasGateway.Authentication;
using CasGateway.Location.Ldap;
using CasGateway.Location.Sql;

namespace CasGateway.Location;

/// <summary>
/// <c>Gateway:Locator:Kind</c>: which store answers lookups, and with it which credential validator checks
/// passwords (the directory that knows the mailboxes is the one that knows their passwords).
/// </summary>
public static class LocatorKinds
{
    public const string File = "File";
    public const string Ldap = "Ldap";
    public const string Sql = "Sql";

    /// <summary>The key under which the chosen store's <see cref="ICredentialValidator"/> is registered.</summary>
    public const string CredentialValidatorKey = "directory";

    /// <summary>
    /// Registers the store under <see cref="LocationStage.StoreKey"/>: only the location cache asks it; every other
    /// caller gets the cache as <see cref="IMailboxLocator"/>. Also registers the store's credential validator and
    /// its telephone lookups (<see cref="IVoiceDirectory"/>: every store has them, so the SIP call router can rely on them)
    /// and its object-id lookup (<see cref="IObjectIdDirectory"/>, for bearer tokens).
    /// </summary>
    public static void AddLocatorStore(this IServiceCollection services, IConfiguration configuration)
    {
        switch (configuration[$"{LocatorOptions.Section}:Kind"] ?? File)
        {
            case var kind when string.Equals(kind, Ldap, StringComparison.OrdinalIgnoreCase):
                services.AddSingleton<LdapServerPool>();
                services.AddSingleton<LdapDirectory>();
                services.AddSingleton<LdapMailboxLocator>();
                services.AddKeyedSingleton<IMailboxLocator>(LocationStage.StoreKey, (sp, _) => sp.GetRequiredService<LdapMailboxLocator>());
                services.AddSingleton<ILocatorStore>(sp => sp.GetRequiredService<LdapMailboxLocator>());
                services.AddSingleton<IVoiceDirectory>(sp => sp.GetRequiredService<LdapMailboxLocator>());
                services.AddSingleton<IObjectIdDirectory>(sp => sp.GetRequiredService<LdapMailboxLocator>());
                services.AddKeyedSingleton<ICredentialValidator, LdapCredentialValidator>(CredentialValidatorKey);
                break;
            case var kind when string.Equals(kind, Sql, StringComparison.OrdinalIgnoreCase):
                services.AddSingleton<SqlDirectory>();
                services.AddSingleton<SqlMailboxLocator>();
                services.AddKeyedSingleton<IMailboxLocator>(LocationStage.StoreKey, (sp, _) => sp.GetRequiredService<SqlMailboxLocator>());
                services.AddSingleton<ILocatorStore>(sp => sp.GetRequiredService<SqlMailboxLocator>());
                services.AddSingleton<IVoiceDirectory>(sp => sp.GetRequiredService<SqlMailboxLocator>());
                services.AddSingleton<IObjectIdDirectory>(sp => sp.GetRequiredService<SqlMailboxLocator>());
                services.AddKeyedSingleton<ICredentialValidator, SqlCredentialValidator>(CredentialValidatorKey);
                break;
            default:
                services.AddSingleton<DirectoryFileLocator>();
                services.AddKeyedSingleton<IMailboxLocator>(LocationStage.StoreKey, (sp, _) => sp.GetRequiredService<DirectoryFileLocator>());
                services.AddSingleton<ILocatorStore>(sp => sp.GetRequiredService<DirectoryFileLocator>());
                services.AddSingleton<IVoiceDirectory>(sp => sp.GetRequiredService<DirectoryFileLocator>());
                services.AddSingleton<IObjectIdDirectory>(sp => sp.GetRequiredService<DirectoryFileLocator>());
                services.AddKeyedSingleton<ICredentialValidator, DirectoryCredentialValidator>(CredentialValidatorKey);
                break;
        }
    }

    /// <summary>
    /// The settings of the chosen kind, checked as a whole (a kind's required settings only matter when it is
    /// chosen); part of <see cref="Configuration.GatewayConfiguration.Check"/>, so start, <c>validate</c> and reload
    /// all see the same problems.
    /// </summary>
    public static IEnumerable<string> Problems(IConfiguration configuration)
    {
        var options = new LocatorOptions();
        try
        {
            configuration.GetSection(LocatorOptions.Section).Bind(options);
        }
        catch (InvalidOperationException)
        {
            // Values that do not convert are reported, with their key, by the options validator.
            return [];
        }
        return options.Kind switch
        {
            _ when string.Equals(options.Kind, Ldap, StringComparison.OrdinalIgnoreCase) => options.Ldap.Problems($"{LocatorOptions.Section}:Ldap"),
            _ when string.Equals(options.Kind, Sql, StringComparison.OrdinalIgnoreCase) => options.Sql.Problems($"{LocatorOptions.Section}:Sql"),
            _ when string.IsNullOrWhiteSpace(options.File.Path) => [$"{LocatorOptions.Section}:File:Path: required when {LocatorOptions.Section}:Kind is File."],
            _ => [],
        };
    }
}

/// <summary>The store behind the location cache, as <c>/readyz</c> and the protocol log name it.</summary>
public interface ILocatorStore
{
    /// <summary>The kind and where it answers from, e.g. <c>Ldap ldaps://dc1.contoso.com:636</c>.</summary>
    string StoreName { get; }
}
