using CasGateway.Anchoring;
using CasGateway.Location;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CasGateway.Tests.Location;

/// <summary>A one-entry cookie is protected once and reused for a short part of its lifetime, never across routes.</summary>
public sealed class BackendCookieReuseTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly BackendCookie _cookie;
    private readonly AnchorMailbox _alice = AnchorMailbox.ForSmtp("alice@contoso.com");

    public BackendCookieReuseTests()
    {
        _cookie = new BackendCookie(new EphemeralDataProtectionProvider(), Options.Create(new BackendCookieOptions { ServerEntryLifetime = TimeSpan.FromMinutes(10) }), _clock);
    }

    private string Write(BackendCookieEntry entry, IReadOnlyList<BackendCookieEntry>? existing = null)
    {
        var context = new DefaultHttpContext();
        _cookie.Write(context.Response, "/owa", existing ?? [], entry, remove: null);
        return context.Response.Headers.SetCookie.ToString();
    }

    private IReadOnlyList<BackendCookieEntry> Read(string setCookie)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = setCookie.Split(';')[0];
        return _cookie.Read(context.Request);
    }

    private BackendCookieEntry Entry(string server) => _cookie.Create(_alice, server, "DB01", "alice@contoso.com", Guid.Empty, affinity: false);

    [Fact]
    public void Same_route_within_a_sixtieth_of_the_lifetime_reuses_the_value()
    {
        var first = Write(Entry("mbx1.contoso.com"));
        _clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(first, Write(Entry("mbx1.contoso.com")));
    }

    [Fact]
    public void Later_or_elsewhere_a_fresh_value_is_made()
    {
        var first = Write(Entry("mbx1.contoso.com"));
        Assert.NotEqual(first, Write(Entry("mbx2.contoso.com")));
        _clock.Advance(TimeSpan.FromSeconds(11));
        var later = Write(Entry("mbx1.contoso.com"));
        Assert.NotEqual(first, later);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromMinutes(10), Assert.Single(Read(later)).Expires);
    }

    [Fact]
    public void Cookies_of_several_entries_are_protected_each_time_and_keep_every_entry()
    {
        var bob = _cookie.Create(AnchorMailbox.ForSmtp("bob@contoso.com"), "mbx2.contoso.com", "DB02", "bob@contoso.com", Guid.Empty, affinity: false);
        var first = Write(Entry("mbx1.contoso.com"), [bob]);
        var second = Write(Entry("mbx1.contoso.com"), [bob]);
        Assert.NotEqual(first, second);
        Assert.Equal(2, Read(second).Count);
    }

    [Fact]
    public void The_reused_header_is_the_one_the_framework_writes_for_the_path_asked()
    {
        var owa = Write(Entry("mbx1.contoso.com"));
        var value = owa.Split(';')[0][(_cookie.Name.Length + 1)..];
        var framework = new DefaultHttpContext();
        framework.Response.Cookies.Append(_cookie.Name, value, new CookieOptions { Path = "/owa", Secure = true, HttpOnly = true, SameSite = SameSiteMode.Lax });
        Assert.Equal(framework.Response.Headers.SetCookie.ToString(), owa);

        var other = new DefaultHttpContext();
        _cookie.Write(other.Response, "/ews", [], Entry("mbx1.contoso.com"), remove: null);
        var ews = other.Response.Headers.SetCookie.ToString();
        Assert.Equal(owa.Split(';')[0], ews.Split(';')[0]);
        Assert.Contains("path=/ews", ews, StringComparison.Ordinal);
        Assert.Equal(owa, Write(Entry("mbx1.contoso.com")));
    }
}
