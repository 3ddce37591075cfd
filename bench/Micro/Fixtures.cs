using CasGateway.Location;

namespace CasGateway.Micro;

/// <summary>The mailbox, database and server the benchmarks route to.</summary>
internal static class Fixtures
{
    public static readonly MailboxServer Server = new("mbx1.contoso.com", "Site1", new Version(15, 2, 1544, 4), new Uri("https://mbx1.contoso.com/"));

    public static MailboxLocation Location()
    {
        var database = new MailboxDatabase("DB01", Guid.Parse("d0d0d0d0-0000-4000-8000-000000000001"), Server, [Server]);
        var mailbox = new Mailbox(Guid.Parse("a1a1a1a1-0000-4000-8000-000000000001"), "alice@contoso.com", [], "DB01", "Alice");
        return new MailboxLocation(mailbox, database);
    }
}
