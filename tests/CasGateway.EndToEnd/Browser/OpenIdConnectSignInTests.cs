using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CasGateway.Authentication.Browser;
using CasGateway.DemoBackend;
using CasGateway.TestSupport;
using OpenQA.Selenium;

namespace CasGateway.EndToEnd.Browser;

/// <summary>
/// Issue 19: OpenID Connect sign-in for OWA against a real provider run by the test (OpenIddict), in headless
/// Chromium; the refusals (altered state, a token for another audience) checked at the callback.
/// </summary>
public sealed partial class OpenIdConnectSignInTests(OpenIdConnectSignInTests.Deployment deployment) : IClassFixture<OpenIdConnectSignInTests.Deployment>
{
    private readonly HeadlessChromium _browser = deployment.Browser;
    private readonly IWebDriver _driver = deployment.Browser.Driver;

    public sealed class Deployment : IAsyncLifetime
    {
        public TestTopology Topology { get; private set; } = null!;

        public OpenIddictProvider Provider { get; private set; } = null!;

        public TestGateway Gateway { get; private set; } = null!;

        public HeadlessChromium Browser { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Topology = await TestTopology.StartAsync();
            Provider = await OpenIddictProvider.StartAsync();
            Gateway = await TestGateway.StartAsync(Topology, new Dictionary<string, string?>
            {
                ["Gateway:Authentication:Browser"] = "Both",
                ["Gateway:Authentication:OpenIdConnect:Authority"] = Provider.Issuer.ToString(),
                ["Gateway:Authentication:OpenIdConnect:ClientId"] = OpenIddictProvider.ClientId,
                ["Gateway:Authentication:OpenIdConnect:ClientSecret"] = OpenIddictProvider.ClientSecret,
                ["Gateway:Authentication:OpenIdConnect:DisplayName"] = "Test Identity Provider",
            });
            Provider.RegisteredRedirectUri = new Uri(Gateway.BaseAddress, BrowserSession.OpenIdConnectCallbackPath);
            Browser = new HeadlessChromium();
        }

        public async Task DisposeAsync()
        {
            Browser?.Dispose();
            await Gateway.DisposeAsync();
            await Provider.DisposeAsync();
            await Topology.DisposeAsync();
        }
    }

    [Fact]
    public void Signing_in_at_the_provider_reaches_the_users_mailbox()
    {
        Fresh();
        deployment.Provider.NextUser = "bob@contoso.com";
        _driver.Navigate().GoToUrl(new Uri(deployment.Gateway.BaseAddress, "/owa/?path=/mail"));
        _browser.WaitUntil(d => d.FindElements(By.Id("oidc")).Count > 0, "the sign-in page's provider link");
        Assert.Contains("Test Identity Provider", _driver.FindElement(By.Id("oidc")).Text);
        _driver.FindElement(By.Id("oidc")).Click();

        var answer = WaitForAnswer();
        Assert.Equal("mbx2.contoso.com", answer.Server);
        Assert.Equal("bob@contoso.com", answer.IdentityUser);
        Assert.Equal("OpenIdConnect", answer.IdentityAuthenticationMethod);
        Assert.Equal("?path=/mail", answer.Query);
        Assert.StartsWith(deployment.Gateway.BaseAddress.ToString(), _driver.Url);
        Assert.NotNull(_driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName));
    }

    [Fact]
    public void A_token_for_another_audience_is_refused()
    {
        Fresh();
        deployment.Provider.NextUser = "alice@contoso.com";
        deployment.Provider.WrongAudience = true;
        try
        {
            _driver.Navigate().GoToUrl(new Uri(deployment.Gateway.BaseAddress, "/owa/auth/oidc?url=%2Fowa%2F"));
            _browser.WaitUntil(d => d.Title.StartsWith("Sign-in failed"), "the refusal page");
            Assert.StartsWith(new Uri(deployment.Gateway.BaseAddress, BrowserSession.OpenIdConnectCallbackPath).ToString(), _driver.Url);
            Assert.Null(_driver.Manage().Cookies.GetCookieNamed(BrowserSession.CookieName));
        }
        finally
        {
            deployment.Provider.WrongAudience = false;
        }
    }

    [Fact]
    public async Task A_callback_with_altered_state_is_refused_and_the_unaltered_one_accepted()
    {
        using var client = deployment.Gateway.CreateClient();

        var altered = await StartAtProviderAsync(client);
        var state = altered.Fields["state"];
        altered.Fields["state"] = state[..^4] + (state[^4..] == "AAAA" ? "BBBB" : "AAAA");
        using (var refused = await CallBackAsync(client, altered))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("could not be completed", await refused.Content.ReadAsStringAsync());
            Assert.False(SetsSession(refused));
        }

        using var accepted = await CallBackAsync(client, await StartAtProviderAsync(client));
        Assert.Equal(HttpStatusCode.Redirect, accepted.StatusCode);
        Assert.Equal("/owa/", accepted.Headers.Location?.OriginalString);
        Assert.True(SetsSession(accepted));
    }

    [Fact]
    public async Task An_unreachable_provider_gets_a_503_page_not_an_error()
    {
        var closedPort = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closedPort.Start();
        var port = ((IPEndPoint)closedPort.LocalEndpoint).Port;
        closedPort.Stop();
        await using var gateway = await TestGateway.StartAsync(deployment.Topology, new Dictionary<string, string?>
        {
            ["Gateway:Authentication:Browser"] = "OpenIdConnect",
            ["Gateway:Authentication:OpenIdConnect:Authority"] = $"https://localhost:{port}/",
            ["Gateway:Authentication:OpenIdConnect:ClientId"] = OpenIddictProvider.ClientId,
        });
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/owa/");
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("cannot be reached", await response.Content.ReadAsStringAsync());
    }

    private void Fresh() => _browser.ForgetCookies(deployment.Gateway.BaseAddress);

    private DemoAnswer WaitForAnswer()
    {
        _browser.WaitUntil(d => _browser.BodyText.TrimStart().StartsWith('{'), "the mailbox server's answer");
        return JsonSerializer.Deserialize<DemoAnswer>(_browser.BodyText, DemoAnswer.JsonOptions)!;
    }

    private static bool SetsSession(HttpResponseMessage response)
        => response.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(BrowserSession.CookieName + "=") && !c.Contains("expires=Thu, 01 Jan 1970"));

    /// <summary>What a browser would carry back to the gateway: the provider's form fields and the gateway's correlation cookies.</summary>
    private sealed record Callback(Dictionary<string, string> Fields, string Cookies);

    /// <summary>Gateway → provider (which signs the user in at once) → the form_post page the browser would submit.</summary>
    private async Task<Callback> StartAtProviderAsync(HttpClient client)
    {
        using var start = await client.GetAsync("/owa/auth/oidc?url=%2Fowa%2F");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var cookies = string.Join("; ", start.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        using var provider = new HttpClient();
        var page = await provider.GetStringAsync(start.Headers.Location);
        var fields = HiddenField().Matches(page).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        Assert.Contains("code", fields.Keys);
        Assert.Contains("state", fields.Keys);
        return new Callback(fields, cookies);
    }

    private static async Task<HttpResponseMessage> CallBackAsync(HttpClient client, Callback callback)
    {
        using var post = new HttpRequestMessage(HttpMethod.Post, BrowserSession.OpenIdConnectCallbackPath) { Content = new FormUrlEncodedContent(callback.Fields) };
        post.Headers.Add("Cookie", callback.Cookies);
        return await client.SendAsync(post);
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenField();
}
