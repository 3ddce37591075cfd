using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CasGateway.EndToEnd.Browser;

/// <summary>
/// Debian's Chromium, headless, driven through its chromedriver by Selenium (never Selenium Manager: the driver
/// path is explicit and offline mode is set). Chromium writes into HOME even with a user-data dir, so the driver and
/// browser get a temp folder as HOME and TMPDIR, removed on dispose with everything in it.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    private readonly string _home;
    private readonly ChromeDriverService _service;

    public HeadlessChromium()
    {
        _home = Directory.CreateTempSubdirectory("casgw-chromium.").FullName;
        _service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        _service.HostName = "127.0.0.1";
        _service.SuppressInitialDiagnosticInformation = true;
        _service.HideCommandPromptWindow = true;
        _service.DriverProcessStarting += (_, e) =>
        {
            var environment = e.DriverServiceProcessStartInfo.Environment;
            environment["HOME"] = _home;
            environment["TMPDIR"] = _home;
            environment["XDG_CONFIG_HOME"] = Path.Combine(_home, ".config");
            environment["XDG_CACHE_HOME"] = Path.Combine(_home, ".cache");
            environment["SE_OFFLINE"] = "true";
        };
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium", AcceptInsecureCertificates = true };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,800",
            "--user-data-dir=" + Path.Combine(_home, "profile"));
        try
        {
            Driver = new ChromeDriver(_service, options, TimeSpan.FromSeconds(60));
        }
        catch
        {
            _service.Dispose();
            Directory.Delete(_home, recursive: true);
            throw;
        }
    }

    public ChromeDriver Driver { get; }

    /// <summary>Waits (polling, 15 s at most) until <paramref name="condition"/> holds.</summary>
    public void WaitUntil(Func<IWebDriver, bool> condition, string what)
    {
        try
        {
            // A page being replaced by the next one invalidates elements read from it: try again, like a user would look again.
            var wait = new WebDriverWait(Driver, TimeSpan.FromSeconds(15));
            wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));
            wait.Until(condition);
        }
        catch (WebDriverTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}; at {Driver.Url}: {Driver.PageSource[..Math.Min(2000, Driver.PageSource.Length)]}");
        }
    }

    /// <summary>The text the browser shows for a JSON answer (Chromium wraps it in a &lt;pre&gt;).</summary>
    public string BodyText => Driver.FindElement(By.TagName("body")).Text;

    /// <summary>Saves what the browser shows into the test output folder (kept as a test artifact).</summary>
    public string SaveScreenshot(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    /// <summary>Forgets every cookie of <paramref name="origin"/> (a fresh browser for the next test).</summary>
    public void ForgetCookies(Uri origin)
    {
        Driver.Navigate().GoToUrl(new Uri(origin, "/owa/auth/logon.aspx"));
        Driver.Manage().Cookies.DeleteAllCookies();
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _service.Dispose();
        Directory.Delete(_home, recursive: true);
    }
}
