using CasGateway.Anchoring;
using CasGateway.Location;
using CasGateway.Routing;

namespace CasGateway.Tests.Routing;

/// <summary>
/// The planner's whole decision table (docs/routing.md), without a socket: every family × every site/version/cloud
/// row, every family's hints, and what the cookie and the locator can answer.
/// </summary>
public sealed class RoutePlannerTests
{
    /// <summary>One request per family that routes by the caller's mailbox (RPC must name it by GUID).</summary>
    private static readonly (ProtocolFamily Family, string Request)[] Families =
    [
        (ProtocolFamily.Owa, "GET /owa/"),
        (ProtocolFamily.Ecp, "GET /ecp/"),
        (ProtocolFamily.Ews, "POST /EWS/Exchange.asmx"),
        (ProtocolFamily.ActiveSync, "POST /Microsoft-Server-ActiveSync?Cmd=Sync"),
        (ProtocolFamily.Mapi, "GET /mapi/emsmdb/"),
        (ProtocolFamily.Rpc, "RPC_IN_DATA /rpc/rpcproxy.dll?{guid}@contoso.com:6001"),
        (ProtocolFamily.Autodiscover, "POST /autodiscover/autodiscover.xml"),
        (ProtocolFamily.Oab, "GET /OAB/"),
    ];

    /// <summary>
    /// Per row: where the mailbox is, the gateway's settings, and the expected plan per family in the order of
    /// <see cref="Families"/>. "*" repeats the previous cell.
    /// </summary>
    public static TheoryData<string, string, string, string> Table()
    {
        var rows = new (string Row, string Mailbox, string World, string[] Expected)[]
        {
            ("this site, 2013+", "alice", "", ["Proxy SameSite mbx1", "*", "*", "*", "*", "*", "*", "*"]),
            ("another site with an OWA URL", "paris", "",
                ["Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/", "ProxyAcrossSites CrossSiteProxy mbx3", "*", "*", "*", "*", "*", "*"]),
            ("no site configured", "paris", "no-site", ["Proxy SameSite mbx3", "*", "*", "*", "*", "*", "*", "*"]),
            ("2010, front end with external URL", "legacy10a", "",
                ["Redirect LegacyFrontEndRedirect 302 https://mail2010.contoso.com/owa/", "Redirect LegacyFrontEndRedirect 302 https://mail2010.contoso.com/ecp/",
                 "Proxy LegacyFrontEndProxy fe2010-a", "*", "*", "*", "Proxy LegacyAutodiscover ex2010-a", "Proxy LegacyFrontEndProxy fe2010-a"]),
            ("2010 in another site, front end without URL", "legacy10b", "",
                ["ProxyAcrossSites LegacyFrontEndProxy fe2010-b", "*", "*", "*", "*", "*", "Proxy LegacyAutodiscover ex2010-b", "ProxyAcrossSites LegacyFrontEndProxy fe2010-b"]),
            ("2010, its site's front end unhealthy: one of another site", "legacy10a", "fe2010-a down",
                ["ProxyAcrossSites LegacyFrontEndProxy fe2010-b", "*", "*", "*", "*", "*", "Proxy LegacyAutodiscover ex2010-a", "ProxyAcrossSites LegacyFrontEndProxy fe2010-b"]),
            ("2010, no healthy front end", "legacy10a", "fe2010-a,fe2010-b down",
                ["Reject NoFrontEnd 404", "*", "*", "*", "*", "*", "Proxy LegacyAutodiscover ex2010-a", "Reject NoFrontEnd 404"]),
            ("2007 with a legacy namespace", "legacy07", "",
                ["Redirect LegacyNamespaceRedirect 302 https://legacy.contoso.com/owa/", "Redirect LegacyNamespaceRedirect 302 https://legacy.contoso.com/ecp/",
                 "Reject LegacyNamespaceOnly 404", "Proxy LegacyFrontEndProxy fe2007", "Reject LegacyNamespaceOnly 404", "Proxy LegacyFrontEndProxy fe2007",
                 "Proxy LegacyFrontEndProxy fe2007", "Reject LegacyNamespaceOnly 404"]),
            ("2007 with a legacy namespace, its front end unhealthy", "legacy07", "fe2007 down",
                ["Redirect LegacyNamespaceRedirect 302 https://legacy.contoso.com/owa/", "Redirect LegacyNamespaceRedirect 302 https://legacy.contoso.com/ecp/",
                 "Reject LegacyNamespaceOnly 404", "Reject NoFrontEnd 404", "Reject LegacyNamespaceOnly 404", "Reject NoFrontEnd 404", "*", "Reject LegacyNamespaceOnly 404"]),
            ("2007 without a legacy namespace: front-end rules", "legacy07", "no-legacy", ["Proxy LegacyFrontEndProxy fe2007", "*", "*", "*", "*", "*", "*", "*"]),
            ("the cloud", "cloudy", "",
                ["Redirect CloudOwaRedirect 302 https://outlook.office.com/owa/contoso.com", "*", "Reject CloudNotHere 404",
                 "Redirect CloudActiveSyncRedirect 451 https://outlook.office365.com/Microsoft-Server-ActiveSync", "Reject CloudNotHere 404", "*",
                 "Redirect CloudAutodiscoverRedirect 200 cloudy@contoso.mail.onmicrosoft.com", "Reject CloudNotHere 404"]),
        };
        var data = new TheoryData<string, string, string, string>();
        foreach (var (row, mailbox, world, expected) in rows)
        {
            for (var i = 0; i < Families.Length; i++)
            {
                var cell = expected[i];
                for (var j = i; cell == "*"; j--)
                {
                    cell = expected[j - 1];
                }
                data.Add(row, mailbox, world + "|" + Families[i].Family, cell);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Every_family_in_every_row_of_the_site_version_table(string row, string mailbox, string worldAndFamily, string expected)
    {
        var (settings, family) = (worldAndFamily.Split('|')[0], Enum.Parse<ProtocolFamily>(worldAndFamily.Split('|')[1]));
        var world = new PlannerWorld(site: settings == "no-site" ? null : "Site1", legacyNamespace: settings != "no-legacy");
        if (settings.EndsWith(" down", StringComparison.Ordinal))
        {
            foreach (var server in settings[..^5].Split(','))
            {
                world.MarkUnhealthy(server);
            }
        }
        var location = world.Location(mailbox);
        var request = Families.Single(f => f.Family == family).Request.Replace("{guid}", location.Mailbox.Guid.ToString(), StringComparison.Ordinal);
        var facts = world.Facts(family, request, caller: location.Mailbox.PrimarySmtpAddress);

        var plan = world.Plan(facts, mailbox);

        Assert.True(expected == PlannerWorld.Describe(plan), $"{row}, {family}: expected {expected}, planned {PlannerWorld.Describe(plan)}");
        Assert.Equal(family, plan.Family);
        Assert.Equal(location.Mailbox.PrimarySmtpAddress, plan.MailboxAddress);
        Assert.Equal(location.Database?.Name, plan.Database);
        Assert.Equal(location.Server, plan.ActiveServer);
        Assert.Equal(plan.Answer is null, plan.CanRetry);
        Assert.Equal(plan.Action is RouteAction.Redirect or RouteAction.Reject, plan.Answer is not null);
    }

    [Theory]
    [InlineData("mail.contoso.com", "Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/paris@contoso.com/?path=/mail")]
    [InlineData("MAIL.PARIS.CONTOSO.COM", "ProxyAcrossSites CrossSiteProxy mbx3")]
    [InlineData("evil.example.net", "Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/paris@contoso.com/?path=/mail")]
    public void A_cross_site_browser_redirect_keeps_path_and_query_and_only_the_configured_host(string host, string expected)
    {
        var world = new PlannerWorld();
        var plan = world.Plan(world.Facts(ProtocolFamily.Owa, "GET /owa/paris@contoso.com/?path=/mail", host: host), "paris");
        Assert.Equal(expected, PlannerWorld.Describe(plan));
    }

    [Fact]
    public void Escaped_CR_LF_in_the_path_stays_escaped_in_a_redirect()
    {
        var world = new PlannerWorld();
        var plan = world.Plan(world.Facts(ProtocolFamily.Owa, "GET /owa/paris@contoso.com/%0D%0ALocation:%20x"), "paris");
        Assert.DoesNotContain('\r', plan.Answer!.Location!);
        Assert.StartsWith("https://mail.paris.contoso.com/owa/", plan.Answer.Location, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /autodiscover/autodiscover.json/v1.0/cloudy@contoso.com?Protocol=Ews",
        "Redirect CloudAutodiscoverRedirect 302 https://autodiscover-s.outlook.com/autodiscover/autodiscover.json/v1.0/cloudy%40contoso.mail.onmicrosoft.com?Protocol=Ews")]
    [InlineData("POST /autodiscover/autodiscover.xml", "Redirect CloudAutodiscoverRedirect 200 cloudy@contoso.mail.onmicrosoft.com")]
    public void Cloud_Autodiscover_answers_by_flavour(string request, string expected)
    {
        var world = new PlannerWorld();
        Assert.Equal(expected, PlannerWorld.Describe(world.Plan(world.Facts(ProtocolFamily.Autodiscover, request, caller: "cloudy@contoso.com"), "cloudy")));
    }

    [Fact]
    public void Cloud_OWA_uses_the_per_domain_URL_when_configured()
    {
        var world = new PlannerWorld();
        var mailbox = new Mailbox(Guid.NewGuid(), "eve@fabrikam.com", [], null, null) { CloudTargetAddress = "eve@fabrikam.mail.onmicrosoft.com" };
        var lookup = new MailboxLookup(LookupResult.Found, new MailboxLocation(mailbox, null));
        var plan = world.Plan(world.Facts(ProtocolFamily.Owa, "GET /owa/", caller: "eve@fabrikam.com"), lookup);
        Assert.Equal("Redirect CloudOwaRedirect 302 https://outlook.office.com/owa/fabrikam.example", PlannerWorld.Describe(plan));
    }

    /// <summary>family, request, headers ("Name: value;…"), hint source, anchor ("" = none), expected plan.</summary>
    public static TheoryData<ProtocolFamily, string, string, string, string, string> Hints() => new()
    {
        { ProtocolFamily.Owa, "GET /owa/", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Owa, "GET /owa/paris@contoso.com/", "X-AnchorMailbox: alice@contoso.com", "ExplicitLogon-SMTP", "paris@contoso.com", "Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/paris@contoso.com/" },
        { ProtocolFamily.Owa, "POST /owa/service.svc", "X-OWA-ExplicitLogonUser: paris@contoso.com", "ExplicitLogonHeader-SMTP", "paris@contoso.com", "Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/service.svc" },
        { ProtocolFamily.Owa, "GET /owa/", "X-AnchorMailbox: {guid}@contoso.com", "AnchorMailboxHeader-MailboxGuidWithDomain", "{guid}@contoso.com", "Redirect CrossSiteRedirect 302 https://mail.paris.contoso.com/owa/" },
        { ProtocolFamily.Owa, "GET /owa/..%2Fetc@contoso.com/", "", "Invalid", "", "Reject BadAnchor 400" },
        { ProtocolFamily.Ecp, "GET /ecp/paris@contoso.com/", "", "ExplicitLogon-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Ecp, "GET /ecp/", "X-OWA-ExplicitLogonUser: paris@contoso.com", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Ecp, "GET /ecp/", "X-AnchorMailbox: paris@contoso.com", "AnchorMailboxHeader-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Ews, "POST /EWS/Exchange.asmx", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Ews, "POST /EWS/Exchange.asmx", "X-AnchorMailbox: paris@contoso.com", "AnchorMailboxHeader-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Ews, "POST /EWS/Exchange.asmx", "X-AnchorMailbox: paris@contoso.com;X-AnchorMailbox: alice@contoso.com", "Invalid", "", "Reject BadAnchor 400" },
        { ProtocolFamily.ActiveSync, "POST /Microsoft-Server-ActiveSync?Cmd=Ping", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.ActiveSync, "POST /Microsoft-Server-ActiveSync?Cmd=Ping", "X-AnchorMailbox: paris@contoso.com", "AnchorMailboxHeader-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Mapi, "POST /mapi/emsmdb/?MailboxId={guid}@contoso.com", "", "MailboxGuidWithDomain", "{guid}@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Mapi, "POST /mapi/emsmdb/?smtpAddress=paris%40contoso.com", "", "MapiSmtpAddress-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Mapi, "POST /mapi/emsmdb/?useMailboxOfAuthenticatedUser=true", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Mapi, "GET /mapi/emsmdb/", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Mapi, "POST /mapi/emsmdb/", "", "Invalid", "", "Reject BadAnchor 400" },
        { ProtocolFamily.Rpc, "RPC_IN_DATA /rpc/rpcproxy.dll?{guid}@contoso.com:6004", "", "RpcServer-MailboxGuidWithDomain", "{guid}@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Rpc, "RPC_IN_DATA /rpc/rpcproxy.dll", "", "None", "", "Reject NoAnchor 404" },
        { ProtocolFamily.Rpc, "RPC_IN_DATA /rpc/rpcproxy.dll?paris@contoso.com:6001", "", "Invalid", "", "Reject BadAnchor 400" },
        { ProtocolFamily.Autodiscover, "POST /autodiscover/autodiscover.xml", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Autodiscover, "GET /autodiscover/alice@contoso.com/x", "X-AnchorMailbox: paris@contoso.com", "AnchorMailboxHeader-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Autodiscover, "GET /autodiscover/paris@contoso.com/autodiscover.xml", "", "AutodiscoverPath-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Autodiscover, "GET /autodiscover/autodiscover.json/v1.0/paris@contoso.com?Protocol=Ews", "", "AutodiscoverPath-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Autodiscover, "GET /autodiscover/autodiscover.json?Email=paris%40contoso.com", "", "AutodiscoverEmail-SMTP", "paris@contoso.com", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Oab, "GET /OAB/0ab00000-1111-4222-8333-444455556666/oab.xml", "", "OfflineAddressBook", "0ab00000-1111-4222-8333-444455556666", "ProxyAcrossSites CrossSiteProxy mbx3" },
        { ProtocolFamily.Oab, "GET /OAB/", "", "User", "alice@contoso.com", "Proxy SameSite mbx1" },
        { ProtocolFamily.Oab, "GET /OAB/not-a-guid/oab.xml", "", "Invalid", "", "Reject BadAnchor 400" },
        { ProtocolFamily.PowerShell, "POST /powershell/", "", "AnyServer", "", "Proxy AnyServer any" },
        { ProtocolFamily.PowerShell, "POST /powershell/?TargetServer=mbx1.contoso.com", "", "TargetServer", "", "Proxy TargetServer mbx1" },
        { ProtocolFamily.PowerShell, "POST /powershell/?TargetServer=MBX3.contoso.com", "", "TargetServer", "", "ProxyAcrossSites TargetServer mbx3" },
        { ProtocolFamily.PowerShell, "POST /powershell/?TargetServer=evil.example.net", "", "TargetServer", "", "Reject UnknownServer 400" },
        { ProtocolFamily.PowerShell, "POST /powershell/?TargetServer=a%2Fb", "", "Invalid", "", "Reject BadAnchor 400" },
    };

    [Theory]
    [MemberData(nameof(Hints))]
    public void Every_family_hint_names_its_mailbox_and_source(ProtocolFamily family, string request, string headers, string hintSource, string anchor, string expected)
    {
        var world = new PlannerWorld();
        var paris = world.Location("paris");
        var guid = paris.Mailbox.Guid.ToString();
        var sent = headers.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(h => (h[..h.IndexOf(':', StringComparison.Ordinal)], h[(h.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim().Replace("{guid}", guid, StringComparison.Ordinal)))
            .ToArray();
        var facts = world.Facts(family, request.Replace("{guid}", guid, StringComparison.Ordinal), headers: sent);
        var found = facts.Mailbox is { } mailbox ? (mailbox.SameAs("alice@contoso.com") ? "alice" : "paris") : null;

        var plan = world.Plan(facts, found);

        Assert.Equal(expected, PlannerWorld.Describe(plan));
        Assert.Equal(hintSource, plan.HintSource);
        Assert.Equal(anchor.Replace("{guid}", guid, StringComparison.Ordinal), plan.Anchor?.Address ?? "");
        Assert.Equal(RoutePlanner.NeedsLookup(facts), plan.Anchor is not null);
        Assert.Equal("alice@contoso.com", plan.CallerAddress);
    }

    [Fact]
    public void A_caller_without_an_address_and_no_hint_is_a_400()
    {
        var world = new PlannerWorld();
        var facts = world.Facts(ProtocolFamily.Ews, "POST /EWS/Exchange.asmx", caller: null);
        Assert.False(RoutePlanner.NeedsLookup(facts));
        var plan = world.Plan(facts, MailboxLookup.NotNeeded);
        Assert.Equal("Reject NoUserAddress 400", PlannerWorld.Describe(plan));
        Assert.Equal("NoUserAddress", plan.Answer!.ErrorCode);
    }

    [Fact]
    public void An_unknown_mailbox_is_a_404_and_a_directory_outage_a_503_to_retry_later()
    {
        var world = new PlannerWorld();
        var facts = world.Facts(ProtocolFamily.Ews, "POST /EWS/Exchange.asmx", headers: ("X-AnchorMailbox", "ghost@contoso.com"));

        var missing = world.Plan(facts, new MailboxLookup(LookupResult.NotFound, FromCache: true));
        Assert.Equal("Reject MailboxNotFound 404", PlannerWorld.Describe(missing));
        Assert.Equal(RouteSource.LocatorCache, missing.Source);
        Assert.Null(missing.Rule);
        Assert.False(missing.Answer!.RetryLater);

        var down = world.Plan(facts, new MailboxLookup(LookupResult.Unavailable, Latency: TimeSpan.FromSeconds(2), Problem: "the directory did not answer in time"));
        Assert.Equal("Reject LocatorUnavailable 503", PlannerWorld.Describe(down));
        Assert.True(down.Answer!.RetryLater);
        Assert.Equal(RouteSource.Locator, down.Source);
        Assert.Equal(TimeSpan.FromSeconds(2), down.LocatorLatency);
        Assert.EndsWith("the directory did not answer in time", down.Answer.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mbx1", "Proxy BackendCookie mbx1")]
    [InlineData("mbx3", "ProxyAcrossSites BackendCookie mbx3")]
    public void A_cookie_entry_decides_without_the_table(string server, string expected)
    {
        var world = new PlannerWorld();
        var entry = new BackendCookieEntry("alice@contoso.com", $"{server}.contoso.com", "DB-alice", "alice@contoso.com", Guid.NewGuid(), DateTimeOffset.UtcNow.AddMinutes(5), Affinity: false);
        var lookup = new MailboxLookup(LookupResult.Cookie, CookieEntry: entry, CookieServer: world.Server(server)) { CookieEntries = [entry] };

        var plan = world.Plan(world.Facts(ProtocolFamily.Owa, "GET /owa/", caller: "alice@contoso.com"), lookup);

        Assert.Equal(expected, PlannerWorld.Describe(plan));
        Assert.Equal("User-ServerCookie", plan.HintSource);
        Assert.Equal(RouteSource.BackEndCookie, plan.Source);
        Assert.Same(entry, plan.CookieEntry);
        Assert.Equal("DB-alice", plan.Database);
        Assert.True(plan.CanRetry);
    }

    [Fact]
    public void The_caller_mailbox_guid_comes_from_the_claims_or_from_the_callers_own_mailbox()
    {
        var world = new PlannerWorld();
        var alice = world.Location("alice");
        var byUser = world.Plan(world.Facts(ProtocolFamily.Owa, "GET /owa/", caller: "alice@contoso.com"), "alice");
        Assert.Equal(PlannerWorld.CallerGuid, byUser.CallerMailboxGuid);

        var withoutClaim = world.Facts(ProtocolFamily.Owa, "GET /owa/", caller: "alice@contoso.com") with { CallerMailboxGuid = Guid.Empty };
        Assert.Equal(alice.Mailbox.Guid, world.Plan(withoutClaim, "alice").CallerMailboxGuid);

        var byHint = world.Facts(ProtocolFamily.Owa, "GET /owa/paris@contoso.com/", caller: "alice@contoso.com") with { CallerMailboxGuid = Guid.Empty };
        Assert.Equal(Guid.Empty, world.Plan(byHint, "paris").CallerMailboxGuid);
    }

    [Theory]
    [InlineData(ProtocolFamily.Ews, "true", true)]
    [InlineData(ProtocolFamily.Ews, "TRUE", true)]
    [InlineData(ProtocolFamily.Ews, "false", false)]
    [InlineData(ProtocolFamily.Mapi, "true", false)]
    public void Server_affinity_is_an_EWS_request_fact(ProtocolFamily family, string value, bool affinity)
    {
        var world = new PlannerWorld();
        var request = family == ProtocolFamily.Ews ? "POST /EWS/Exchange.asmx" : "GET /mapi/emsmdb/";
        var plan = world.Plan(world.Facts(family, request, headers: ("X-PreferServerAffinity", value)), "alice");
        Assert.Equal(affinity, plan.Affinity);
    }

    [Fact]
    public void Mounted_elsewhere_moves_the_same_mailbox_to_the_named_server_and_stops_following_the_cookie()
    {
        var world = new PlannerWorld();
        var entry = new BackendCookieEntry("alice@contoso.com", "mbx1.contoso.com", "DB-alice", "alice@contoso.com", Guid.NewGuid(), DateTimeOffset.UtcNow.AddMinutes(5), Affinity: true);
        var followed = world.Plan(world.Facts(ProtocolFamily.Ews, "POST /EWS/Exchange.asmx"), new MailboxLookup(LookupResult.Cookie, CookieEntry: entry, CookieServer: world.Server("mbx1")));

        var moved = world.Planner.MountedOn(followed, world.Server("mbx3"));

        Assert.Equal("ProxyAcrossSites BackendCookie mbx3", PlannerWorld.Describe(moved));
        Assert.Null(moved.CookieEntry);
        Assert.Equal(followed.Database, moved.Database);
        Assert.Equal(followed.Anchor, moved.Anchor);
        Assert.Equal(world.Server("mbx3"), moved.ActiveServer);
    }

    [Fact]
    public void The_same_inputs_always_give_the_same_plan()
    {
        var world = new PlannerWorld();
        var facts = world.Facts(ProtocolFamily.Owa, "GET /owa/paris@contoso.com/?a=1");
        Assert.Equal(world.Plan(facts, "paris"), world.Plan(facts, "paris"));
    }
}
