using Microsoft.Net.Http.Headers;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// The browser session: one cookie authentication scheme that both sign-in ways (forms, OpenID Connect) sign into,
/// accepted only on the browser families' routes (OWA, ECP), and the paths Exchange clients know.
/// </summary>
public static class BrowserSession
{
    /// <summary>The cookie authentication scheme holding the session.</summary>
    public const string Scheme = "BrowserSession";

    /// <summary>The authorization policy of the OWA and ECP routes: Basic, Bearer or the browser session.</summary>
    public const string Policy = "BrowserFamilies";

    /// <summary>
    /// <c>__Host-</c>: the browser keeps it only if Secure, host-only and path <c>/</c>, so no sibling host or
    /// plain-HTTP page can plant or shadow it.
    /// </summary>
    public const string CookieName = CookiePrefix + "Session";

    public const string AntiforgeryCookieName = CookiePrefix + "Antiforgery";

    /// <summary>Every cookie the gateway's browser sign-in sets starts so (the session may be split into chunks).</summary>
    private const string CookiePrefix = "__Host-CasGateway.";

    /// <summary>Authentication method backends see for a forms sign-in.</summary>
    public const string FormsMethod = "Forms";

    /// <summary>Authentication method backends see for an OpenID Connect sign-in (also the handler's scheme name).</summary>
    public const string OpenIdConnectMethod = "OpenIdConnect";

    public const string SignInPath = "/owa/auth/logon.aspx";
    public const string SignInPostPath = "/owa/auth.owa";
    public const string SignOutPath = "/owa/logoff.owa";
    public const string OpenIdConnectStartPath = "/owa/auth/oidc";
    public const string OpenIdConnectCallbackPath = "/owa/auth/signin-oidc";

    /// <summary>Exchange's "Login Timeout": what OWA's scripts expect when the session is gone.</summary>
    public const int LoginTimeoutStatus = 440;

    /// <summary>
    /// A top-level page load: GET or HEAD that accepts HTML and is not a script's call. Those are sent to sign in;
    /// everything else is answered, never redirected.
    /// </summary>
    public static bool IsPageRequest(HttpRequest request)
        => (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            && !IsScriptCall(request)
            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A request from a browser page or script: it carries the session cookie (expired or not), says it is
    /// XMLHttpRequest, asks for JSON, or bears the fetch metadata and origin headers only browsers send.
    /// </summary>
    public static bool IsBrowserRequest(HttpRequest request)
        => request.Cookies.ContainsKey(CookieName)
            || IsScriptCall(request)
            || request.Headers.ContainsKey("Sec-Fetch-Mode")
            || request.Headers.ContainsKey(HeaderNames.Origin);

    /// <summary>Drops the gateway's cookies from the request's Cookie headers, keeping every other cookie byte for byte.</summary>
    public static void RemoveGatewayCookies(HttpRequest request)
    {
        var headers = request.Headers;
        var values = headers.Cookie;
        if (values.Count == 0 || !values.Any(v => v?.Contains(CookiePrefix, StringComparison.Ordinal) == true))
        {
            return;
        }
        var kept = values.SelectMany(v => (v ?? "").Split(';'))
            .Select(c => c.Trim())
            .Where(c => c.Length > 0 && !c.StartsWith(CookiePrefix, StringComparison.Ordinal))
            .ToList();
        if (kept.Count == 0)
        {
            headers.Remove(HeaderNames.Cookie);
        }
        else
        {
            headers.Cookie = string.Join("; ", kept);
        }
    }

    private static bool IsScriptCall(HttpRequest request)
        => request.Headers.ContainsKey(HeaderNames.XRequestedWith)
            || request.Headers.Accept.ToString().Contains("json", StringComparison.OrdinalIgnoreCase)
            || request.Headers["Sec-Fetch-Dest"] is [var dest] && dest is "empty" or "script";

    /// <summary>
    /// <paramref name="url"/> if it is a path on this gateway inside OWA or ECP; otherwise OWA's start page. A
    /// scheme, a host, <c>//</c>, <c>/\</c>, backslashes or control characters are never followed (no open redirect).
    /// </summary>
    public static string LocalReturnUrl(string? url)
    {
        const string fallback = "/owa/";
        if (string.IsNullOrEmpty(url) || url.Length > 2048 || url[0] != '/' || url.StartsWith("//", StringComparison.Ordinal))
        {
            return fallback;
        }
        foreach (var c in url)
        {
            if (c is '\\' or < ' ' or '\u007f')
            {
                return fallback;
            }
        }
        return InFamily(url, "/owa") || InFamily(url, "/ecp") ? url : fallback;
    }

    private static bool InFamily(string url, string root)
        => url.StartsWith(root, StringComparison.OrdinalIgnoreCase)
            && (url.Length == root.Length || url[root.Length] is '/' or '?' or '#');
}
