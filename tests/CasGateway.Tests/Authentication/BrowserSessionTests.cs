using System.ComponentModel.DataAnnotations;
using CasGateway.Authentication.Browser;
using Microsoft.AspNetCore.Http;

namespace CasGateway.Tests.Authentication;

/// <summary>Issue 19: the browser session's pure decisions — where a sign-in may return to, which requests are pages.</summary>
public sealed class BrowserSessionTests
{
    [Theory]
    [InlineData("/owa/", "/owa/")]
    [InlineData("/owa", "/owa")]
    [InlineData("/OWA/?path=/mail#inbox", "/OWA/?path=/mail#inbox")]
    [InlineData("/ecp/default.aspx", "/ecp/default.aspx")]
    [InlineData("https://evil.example/owa/", "/owa/")]
    [InlineData("//evil.example/owa/", "/owa/")]
    [InlineData("/\\evil.example/owa/", "/owa/")]
    [InlineData("/owa/\\..\\x", "/owa/")]
    [InlineData("/owa/\r\nSet-Cookie: x=y", "/owa/")]
    [InlineData("/owaevil/", "/owa/")]
    [InlineData("/admin/components", "/owa/")]
    [InlineData("owa/", "/owa/")]
    [InlineData("", "/owa/")]
    [InlineData(null, "/owa/")]
    public void Only_local_owa_and_ecp_paths_are_returned_to(string? url, string expected)
        => Assert.Equal(expected, BrowserSession.LocalReturnUrl(url));

    [Theory]
    [InlineData("GET", "text/html,application/xhtml+xml,*/*;q=0.8", null, true)]
    [InlineData("HEAD", "text/html", null, true)]
    [InlineData("POST", "text/html", null, false)]
    [InlineData("GET", "application/json", null, false)]
    [InlineData("GET", "text/html", "XMLHttpRequest", false)]
    [InlineData("GET", "*/*", null, false)]
    public void Page_requests_are_top_level_html_loads(string method, string accept, string? requestedWith, bool page)
    {
        var request = new DefaultHttpContext().Request;
        request.Method = method;
        request.Headers.Accept = accept;
        if (requestedWith is not null)
        {
            request.Headers["X-Requested-With"] = requestedWith;
        }
        Assert.Equal(page, BrowserSession.IsPageRequest(request));
    }

    [Fact]
    public void A_plain_client_is_not_a_browser_but_a_fetch_or_an_old_session_is()
    {
        var plain = new DefaultHttpContext().Request;
        plain.Method = "POST";
        Assert.False(BrowserSession.IsBrowserRequest(plain));

        var fetch = new DefaultHttpContext().Request;
        fetch.Headers["Sec-Fetch-Mode"] = "cors";
        Assert.True(BrowserSession.IsBrowserRequest(fetch));

        var expired = new DefaultHttpContext().Request;
        expired.Headers.Cookie = BrowserSession.CookieName + "=stale";
        Assert.True(BrowserSession.IsBrowserRequest(expired));
    }

    [Fact]
    public void The_gateways_cookies_are_removed_and_the_others_kept_as_sent()
    {
        var request = new DefaultHttpContext().Request;
        request.Headers.Cookie = $"a=1; {BrowserSession.CookieName}=secret; X-BackEndCookie=r%3D1; {BrowserSession.AntiforgeryCookieName}=t";
        BrowserSession.RemoveGatewayCookies(request);
        Assert.Equal("a=1; X-BackEndCookie=r%3D1", request.Headers.Cookie.ToString());

        request.Headers.Cookie = BrowserSession.CookieName + "C1=part";
        BrowserSession.RemoveGatewayCookies(request);
        Assert.False(request.Headers.ContainsKey("Cookie"));
    }

    [Fact]
    public void OpenIdConnect_needs_an_https_authority_and_a_client_id()
    {
        var options = new BrowserSignInOptions { Browser = BrowserSignInMode.Both };
        options.OpenIdConnect.Authority = new Uri("http://idp.example/");
        var problems = options.Validate(new ValidationContext(options)).Select(r => r.ErrorMessage).ToList();
        Assert.Contains(problems, p => p!.StartsWith("Gateway:Authentication:OpenIdConnect:Authority: required"));
        Assert.Contains(problems, p => p!.StartsWith("Gateway:Authentication:OpenIdConnect:ClientId: required"));

        options.Browser = BrowserSignInMode.Forms;
        Assert.Empty(options.Validate(new ValidationContext(options)));
    }

    [Fact]
    public void A_private_session_is_never_shorter_than_a_public_one()
    {
        var options = new BrowserSignInOptions();
        options.Forms.PrivateSessionLifetime = TimeSpan.FromMinutes(5);
        Assert.Contains(options.Validate(new ValidationContext(options)), r => r.ErrorMessage!.Contains("PrivateSessionLifetime"));
    }
}
