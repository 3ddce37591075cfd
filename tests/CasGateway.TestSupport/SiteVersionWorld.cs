namespace CasGateway.TestSupport;

/// <summary>
/// The site/version/cloud world of the routing decision table, added to a topology: a 2013 server in Site2, Exchange
/// 2010 back and front ends in both sites (Site1's with an external URL), Exchange 2007 in Site1, one mailbox on each,
/// and a mailbox moved to the cloud. The planner's unit tests and the end-to-end routing tests use the same world.
/// </summary>
public static class SiteVersionWorld
{
    public static async Task AddSiteVersionWorldAsync(this TestTopology topology)
    {
        var d = topology.Directory;
        await topology.AddServerAsync("mbx3.contoso.com", "Site2", "15.2.1544.4");
        await topology.AddServerAsync("ex2010-a.contoso.com", "Site1", "14.3.513.0");
        await topology.AddServerAsync("fe2010-a.contoso.com", "Site1", "14.3.513.0", frontEnd: true, new Uri("https://mail2010.contoso.com/"));
        await topology.AddServerAsync("ex2010-b.contoso.com", "Site2", "14.3.513.0");
        await topology.AddServerAsync("fe2010-b.contoso.com", "Site2", "14.3.513.0", frontEnd: true);
        await topology.AddServerAsync("ex2007.contoso.com", "Site1", "8.3.83.6");
        await topology.AddServerAsync("fe2007.contoso.com", "Site1", "8.3.83.6", frontEnd: true);
        d.Databases.Add(("DB03", Guid.NewGuid(), ["mbx3.contoso.com"], "mbx3.contoso.com"));
        d.Databases.Add(("DB10A", Guid.NewGuid(), ["ex2010-a.contoso.com"], "ex2010-a.contoso.com"));
        d.Databases.Add(("DB10B", Guid.NewGuid(), ["ex2010-b.contoso.com"], "ex2010-b.contoso.com"));
        d.Databases.Add(("DB07", Guid.NewGuid(), ["ex2007.contoso.com"], "ex2007.contoso.com"));
        d.AddMailbox("paris@contoso.com", "DB03");
        d.AddMailbox("legacy10a@contoso.com", "DB10A");
        d.AddMailbox("legacy10b@contoso.com", "DB10B");
        d.AddMailbox("legacy07@contoso.com", "DB07");
        d.AddMailbox("cloudy@contoso.com", "DB01");
        d.CloudMailboxes["cloudy@contoso.com"] = "cloudy@contoso.mail.onmicrosoft.com";
        d.Save();
    }
}
