namespace CasGateway.Location;

/// <summary>
/// Finding a mailbox by its owner's object id in the configured Entra ID tenant (the <c>oid</c> claim of a bearer
/// token): every store implements it (the directory file's <c>objectId</c>, SQL's <c>mailboxes.object_id</c>, LDAP's
/// <see cref="Ldap.LdapAttributeMap.ObjectId"/>) and registers it beside itself, so bearer sign-in works whatever
/// <c>Gateway:Locator:Kind</c> says.
/// </summary>
public interface IObjectIdDirectory
{
    /// <summary>The mailbox whose owner has this object id, or null.</summary>
    /// <exception cref="LocatorUnavailableException">The store cannot answer right now.</exception>
    ValueTask<Mailbox?> FindByObjectIdAsync(Guid objectId, CancellationToken cancellationToken);
}
