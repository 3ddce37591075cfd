using System.Net;
using System.Text.Json;
using CasGateway.Authentication.Browser;
using CasGateway.DemoBackend;
using CasGateway.TestSupport;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;

namespace CasGateway.EndToEnd.Browser;

/// <summary>
/// Issue 19: forms sign-in for OWA and ECP in a real browser (headless Chromium through Selenium) against two
/// gateway nodes sharing one Data Protection key ring, plus a third whose session clock the test moves ahead.
/// </summary>
public sealed class FormsSignInTests(FormsSignInTests.Deployment deployment) : IClassFixture<FormsSignInTests.Deployment>
{
    private const string Organization = "Fabrikam Test Mail";
    private readonly HeadlessChromium _browser = deployment.Browser;
    private readonly IWebDriver _driver = deployment.Browser.Driver;

    public sealed class Deployment : IAsyncLifetime
    {
        public TestTopology Topology { get; private set; } = null!;

        public TestGateway Node1 { get; private set; } = null!;

        /// <summary>Another node with the same settings, hence the same key ring folder (DataPath/keys).</summary>
        public TestGateway Node2 { get; private set; } = null!;

        /// <summary>A node sharing the key ring whose sessions are judged by <see cref="Clock"/>, which the test moves ahead.</summary>
        public TestGateway Later { get; private set; } = null!;

        public AdjustableClock Clock { get; } = new();

        public HeadlessChromium Browser { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Topology = await TestTopology.StartAsync();
            var settings = new Dictionary<string, string?> { ["Gateway:Authentication:Forms:OrganizationName"] = Organization };
            Node1 = await TestGateway.StartAsync(Topology, settings);
            Node2 = await TestGateway.StartAsync(Topology, settings);
            // Only the session cookie's clock moves: the signed identity header keeps real time, so backends still answer.
            Later = await TestGateway.StartAsync(Topology, settings,
                services => services.PostConfigure<CookieAuthenticationOptions>(BrowserSession.Scheme, o => o.TimeProvider = Clock));
            Browser = new HeadlessChromium();
        }

        public async Task DisposeAsync()
        {
            Browser?.Dispose();
            await Later.DisposeAsync();
            await Node2.DisposeAsync();
            await Node1.DisposeAsync();
            await Topology.DisposeAsync();
        }
    }

    [Fact]
    public void Opening_owa_shows_the_accessible_sign_in_page()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/?view=inbox"));
        _browser.WaitUntil(d => d.Url.Contains("/owa/auth/logon.aspx"), "the sign-in page");
        Assert.Equal($"Sign in - {Organization}", _driver.Title);
        Assert.Contains(Organization, _browser.BodyText);
        Assert.Equal("/owa/?view=inbox", _driver.FindElement(By.Name("url")).GetAttribute("value"));
        foreach (var field in new[] { "username", "password", "public", "private" })
        {
            Assert.NotEmpty(_driver.FindElements(By.CssSelector($"label[for='{field}']")));
        }
        Assert.True(_driver.FindElement(By.Id("public")).Selected, "public computer is the default");
        Assert.Empty(_driver.FindElements(By.TagName("script")));
        _browser.SaveScreenshot("sign-in.png");
    }

    [Fact]
    public void Wrong_password_shows_a_message_and_sets_no_session()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        SignIn("alice@contoso.com", "not her password");
        _browser.WaitUntil(d => d.FindElements(By.Id("problem")).Count > 0, "the error message");
        Assert.Contains("isn't correct", _driver.FindElement(By.Id("problem")).Text);
        Assert.Equal("alice@contoso.com", _driver.FindElement(By.Id("username")).GetAttribute("value"));
        Assert.Equal("", _driver.FindElement(By.Id("password")).GetAttribute("value"));
        Assert.Equal("password", _driver.SwitchTo().ActiveElement().GetAttribute("id"));
        Assert.Null(_driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName));
        _browser.SaveScreenshot("sign-in-error.png");
    }

    [Fact]
    public void Right_password_reaches_the_users_mailbox_server_and_a_reload_keeps_the_session()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        SignIn("bob@contoso.com", TestDirectory.PasswordOf("bob@contoso.com"));
        var answer = WaitForAnswer();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal("bob@contoso.com", answer.IdentityUser);
        Assert.Equal("Forms", answer.IdentityAuthenticationMethod);
        Assert.DoesNotContain("__Host-CasGateway", answer.Cookie);

        var cookie = _driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName);
        Assert.NotNull(cookie);
        Assert.True(cookie.IsHttpOnly && cookie.Secure, "HttpOnly and Secure");
        Assert.Equal("Lax", cookie.SameSite);
        Assert.Null(cookie.Expiry);

        _driver.Navigate().Refresh();
        Assert.Equal("mbx2.contoso.com", WaitForAnswer().Server);
        Assert.DoesNotContain("/auth/logon.aspx", _driver.Url);
    }

    [Fact]
    public void A_private_computer_gets_a_cookie_that_outlives_the_browser()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        _driver.FindElement(By.Id("private")).Click();
        SignIn("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        Assert.Equal("mbx1.contoso.com", WaitForAnswer().Server);
        var expiry = _driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName)?.Expiry;
        Assert.NotNull(expiry);
        Assert.InRange(expiry.Value.ToUniversalTime(), DateTime.UtcNow.AddHours(7.9), DateTime.UtcNow.AddHours(8.1));
    }

    [Fact]
    public void Another_node_sharing_the_key_ring_accepts_the_session()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node2, "/ecp/"));
        _browser.WaitUntil(d => d.Url.Contains("/owa/auth/logon.aspx"), "node 2's sign-in page");

        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        SignIn("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        WaitForAnswer();

        _driver.Navigate().GoToUrl(Url(deployment.Node2, "/ecp/"));
        var answer = WaitForAnswer();
        Assert.Equal("alice@contoso.com", answer.IdentityUser);
        Assert.Equal("/ecp/", answer.Path);
        Assert.StartsWith(deployment.Node2.BaseAddress.ToString(), _driver.Url);
    }

    [Fact]
    public void An_expired_session_gets_440_on_a_script_call_and_the_sign_in_page_on_a_page_load()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        SignIn("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        WaitForAnswer();

        // An hour later, the 15-minute public session has ended.
        deployment.Clock.Shift = TimeSpan.FromHours(1);
        // A page of that node without a content security policy (the sign-in pages allow no fetch at all).
        _driver.Navigate().GoToUrl(Url(deployment.Later, "/owa/healthcheck.htm"));
        var status = Convert.ToInt32(((IJavaScriptExecutor)_driver).ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch('/owa/service.svc?action=GetFolder', { method: 'POST', headers: { 'X-Requested-With': 'XMLHttpRequest' } })
                .then(r => done(r.status), e => done(String(e)));
            """));
        Assert.Equal(440, status);

        _driver.Navigate().GoToUrl(Url(deployment.Later, "/owa/"));
        _browser.WaitUntil(d => d.Url.Contains("/owa/auth/logon.aspx"), "the sign-in page");
        Assert.Contains("session has ended", _driver.FindElement(By.Id("notice")).Text);

        // Still valid on a node whose clock is right.
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        Assert.Equal("alice@contoso.com", WaitForAnswer().IdentityUser);
        deployment.Clock.Shift = TimeSpan.Zero;
    }

    [Fact]
    public async Task A_session_slides_while_it_is_used()
    {
        using var client = deployment.Later.CreateClient();
        deployment.Clock.Shift = TimeSpan.Zero;
        var first = await SignInOverHttpAsync(client, "alice@contoso.com");

        // Ten minutes on, past half of the 15-minute session: the answer renews the cookie for another 15 minutes.
        deployment.Clock.Shift = TimeSpan.FromMinutes(10);
        using var renewing = await ScriptCallAsync(client, first);
        Assert.Equal("alice@contoso.com", (await renewing.ReadAnswerAsync()).IdentityUser);
        var renewed = renewing.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(BrowserSession.CookieName)).Split(';')[0];
        Assert.NotEqual(first, renewed);

        // Twenty minutes on: the first cookie has ended, the renewed one has not.
        deployment.Clock.Shift = TimeSpan.FromMinutes(20);
        using (var ended = await ScriptCallAsync(client, first))
        {
            Assert.Equal(440, (int)ended.StatusCode);
        }
        using var alive = await ScriptCallAsync(client, renewed);
        Assert.Equal("alice@contoso.com", (await alive.ReadAnswerAsync()).IdentityUser);
        deployment.Clock.Shift = TimeSpan.Zero;
    }

    [Fact]
    public void Signing_out_clears_the_session_and_owa_asks_again()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        SignIn("carol@contoso.com", TestDirectory.PasswordOf("carol@contoso.com"));
        WaitForAnswer();

        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/logoff.owa?url=%2Fowa%2F"));
        _browser.WaitUntil(d => d.FindElements(By.Id("signedout")).Count > 0, "the signed-out page");
        Assert.Contains(Organization, _browser.BodyText);
        Assert.Null(_driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName));
        _browser.SaveScreenshot("signed-out.png");

        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        _browser.WaitUntil(d => d.Url.Contains("/owa/auth/logon.aspx"), "the sign-in page again");
    }

    [Theory]
    [InlineData("https://evil.example/owa/")]
    [InlineData("//evil.example/owa/")]
    [InlineData("/\\evil.example/owa/")]
    [InlineData("/admin/components")]
    public void An_off_site_return_url_is_ignored(string url)
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, $"/owa/auth/logon.aspx?url={Uri.EscapeDataString(url)}&reason=0"));
        Assert.Equal("/owa/", _driver.FindElement(By.Name("url")).GetAttribute("value"));
        SignIn("alice@contoso.com", TestDirectory.PasswordOf("alice@contoso.com"));
        WaitForAnswer();
        Assert.Equal(Url(deployment.Node1, "/owa/").ToString(), _driver.Url);
    }

    [Fact]
    public void Signing_in_with_the_keyboard_alone_works()
    {
        Fresh();
        _driver.Navigate().GoToUrl(Url(deployment.Node1, "/owa/"));
        _browser.WaitUntil(d => d.Url.Contains("/owa/auth/logon.aspx"), "the sign-in page");
        Assert.Equal("username", _driver.SwitchTo().ActiveElement().GetAttribute("id"));
        _driver.SwitchTo().ActiveElement().SendKeys("alice@contoso.com" + Keys.Tab);
        Assert.Equal("password", _driver.SwitchTo().ActiveElement().GetAttribute("id"));
        _driver.SwitchTo().ActiveElement().SendKeys(TestDirectory.PasswordOf("alice@contoso.com") + Keys.Enter);
        Assert.Equal("alice@contoso.com", WaitForAnswer().IdentityUser);
    }

    [Fact]
    public async Task Other_clients_keep_their_challenges_and_the_session_opens_nothing_but_owa_and_ecp()
    {
        using var client = deployment.Node1.CreateClient();
        using (var plain = await client.GetAsync("/owa/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, plain.StatusCode);
            Assert.Contains(plain.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        var session = await SignInOverHttpAsync(client, "alice@contoso.com");
        using var ews = new HttpRequestMessage(HttpMethod.Get, "/EWS/Exchange.asmx");
        ews.Headers.Add("Cookie", session);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(ews)).StatusCode);

        using var owa = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        owa.Headers.Add("Cookie", session + "; theme=dark");
        var answer = await (await client.SendAsync(owa)).ReadAnswerAsync();
        Assert.Equal("Forms", answer.IdentityAuthenticationMethod);
        Assert.Equal("theme=dark", answer.Cookie);
    }

    [Fact]
    public async Task A_sign_in_post_without_the_antiforgery_token_is_refused()
    {
        using var client = deployment.Node1.CreateClient();
        using var post = await client.PostAsync("/owa/auth.owa", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "alice@contoso.com",
            ["password"] = TestDirectory.PasswordOf("alice@contoso.com"),
            ["url"] = "/owa/",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.False(post.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(BrowserSession.CookieName)));
    }

    private void Fresh() => _browser.ForgetCookies(deployment.Node1.BaseAddress);

    private static Uri Url(TestGateway node, string pathAndQuery) => new(node.BaseAddress, pathAndQuery);

    private void SignIn(string user, string password)
    {
        _browser.WaitUntil(d => d.FindElements(By.Id("username")).Count > 0, "the sign-in form");
        var name = _driver.FindElement(By.Id("username"));
        name.Clear();
        name.SendKeys(user);
        _driver.FindElement(By.Id("password")).SendKeys(password);
        _driver.FindElement(By.Id("signin")).Click();
    }

    private DemoAnswer WaitForAnswer()
    {
        _browser.WaitUntil(d => _browser.BodyText.TrimStart().StartsWith('{'), "the mailbox server's answer");
        return JsonSerializer.Deserialize<DemoAnswer>(_browser.BodyText, DemoAnswer.JsonOptions)!;
    }

    /// <summary>What OWA's scripts send: a POST marked as XMLHttpRequest, with the session cookie.</summary>
    private static Task<HttpResponseMessage> ScriptCallAsync(HttpClient client, string session)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/owa/service.svc?action=GetFolder") { Content = new StringContent("{}") };
        request.Headers.Add("X-Requested-With", "XMLHttpRequest");
        request.Headers.Add("Cookie", session);
        return client.SendAsync(request);
    }

    /// <summary>The sign-in form posted by a plain HTTP client (token and cookie from the page): the session cookie.</summary>
    private static async Task<string> SignInOverHttpAsync(HttpClient client, string user)
    {
        using var page = await client.GetAsync("/owa/auth/logon.aspx");
        var html = await page.Content.ReadAsStringAsync();
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var antiforgery = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(BrowserSession.AntiforgeryCookieName)).Split(';')[0];
        using var post = new HttpRequestMessage(HttpMethod.Post, "/owa/auth.owa")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = token,
                ["username"] = user,
                ["password"] = TestDirectory.PasswordOf(user),
                ["url"] = "/owa/",
            }),
        };
        post.Headers.Add("Cookie", antiforgery);
        using var response = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(BrowserSession.CookieName)).Split(';')[0];
    }

    public sealed class AdjustableClock : TimeProvider
    {
        public TimeSpan Shift { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
    }
}
