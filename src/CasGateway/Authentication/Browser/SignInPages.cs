using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// The gateway's own pages: sign-in, signed out, sign-in failed. Plain HTML forms with labels, no script and no
/// asset from anywhere (the style is inline and allowed by its hash), so they work with a keyboard, a screen reader,
/// and scripts turned off.
/// </summary>
internal static class SignInPages
{
    private const string Style = """
        body{margin:0;font-family:"Segoe UI","DejaVu Sans",Arial,sans-serif;background:#f3f2f1;color:#201f1e}
        main{max-width:26rem;margin:4rem auto;padding:2rem;background:#fff;border-top:4px solid #0f6cbd;box-shadow:0 1px 4px #0003}
        h1{font-size:1.5rem;font-weight:600;margin:0 0 .25rem}
        p.org{margin:0 0 1.5rem;color:#484644}
        label{display:block;margin:1rem 0 .25rem;font-weight:600}
        input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #8a8886}
        fieldset{margin:1rem 0 0;padding:.5rem .75rem;border:1px solid #c8c6c4}
        legend{font-weight:600;padding:0 .25rem}
        fieldset label{display:inline;font-weight:400;margin:0 0 0 .35rem}
        fieldset div{margin:.35rem 0}
        button,a.button{display:inline-block;margin-top:1.5rem;padding:.55rem 1.5rem;font-size:1rem;background:#0f6cbd;color:#fff;border:0;text-decoration:none;cursor:pointer}
        :focus-visible{outline:3px solid #201f1e;outline-offset:2px}
        .alert{margin:1rem 0 0;padding:.75rem;background:#fde7e9;border-left:4px solid #a4262c}
        .note{margin:1rem 0 0;padding:.75rem;background:#eff6fc;border-left:4px solid #0f6cbd}
        .alt{margin-top:1.5rem}
        """;

    /// <summary>The page's header value: nothing may load, frame or be posted anywhere but here.</summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)))}'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static string SignIn(SignInPageModel model)
    {
        var body = new StringBuilder();
        if (model.Problem is not null)
        {
            body.Append($"""<p class="alert" role="alert" id="problem">{Html.Encode(model.Problem)}</p>""");
        }
        else if (model.Notice is not null)
        {
            body.Append($"""<p class="note" role="status" id="notice">{Html.Encode(model.Notice)}</p>""");
        }
        var describedBy = model.Problem is null ? "" : """ aria-describedby="problem" """;
        body.Append($"""
            <form method="post" action="{BrowserSession.SignInPostPath}">
            <input type="hidden" name="__RequestVerificationToken" value="{Html.Encode(model.AntiforgeryToken)}">
            <input type="hidden" name="url" value="{Html.Encode(model.ReturnUrl)}">
            <label for="username">Email address or user name</label>
            <input type="text" id="username" name="username" value="{Html.Encode(model.UserName)}" autocomplete="username" autocapitalize="off" spellcheck="false" required maxlength="256"{(model.UserName.Length == 0 ? " autofocus" : "")}{describedBy}>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024"{(model.UserName.Length == 0 ? "" : " autofocus")}{describedBy}>
            <fieldset>
            <legend>Security</legend>
            <div><input type="radio" id="public" name="computer" value="public"{Checked(!model.PrivateComputer)}><label for="public">This is a public or shared computer</label></div>
            <div><input type="radio" id="private" name="computer" value="private"{Checked(model.PrivateComputer)}><label for="private">This is a private computer (stay signed in longer)</label></div>
            </fieldset>
            <button type="submit" id="signin">Sign in</button>
            </form>
            """);
        if (model.OpenIdConnectName is { } provider)
        {
            body.Append($"""<p class="alt"><a class="button" id="oidc" href="{BrowserSession.OpenIdConnectStartPath}?url={Uri.EscapeDataString(model.ReturnUrl)}">Sign in with {Html.Encode(provider)}</a></p>""");
        }
        return Layout("Sign in", model.Organization, body.ToString());
    }

    public static string SignedOut(string organization)
        => Layout("Signed out", organization, $"""
            <p class="note" role="status" id="signedout">You have signed out. For your security, close all browser windows when you have finished.</p>
            <p><a class="button" href="/owa/">Sign in again</a></p>
            """);

    public static string Failed(string organization, string message)
        => Layout("Sign-in failed", organization, $"""
            <p class="alert" role="alert" id="problem">{Html.Encode(message)}</p>
            <p><a class="button" href="/owa/">Try again</a></p>
            """);

    private static string Checked(bool value) => value ? " checked" : "";

    private static string Layout(string title, string organization, string body) => $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{Html.Encode(title)} - {Html.Encode(organization)}</title>
        <style>{Style}</style>
        </head>
        <body>
        <main>
        <h1>{Html.Encode(title)}</h1>
        <p class="org">{Html.Encode(organization)} Outlook on the web</p>
        {body}
        </main>
        </body>
        </html>
        """;
}

/// <summary>What the sign-in page shows.</summary>
internal sealed record SignInPageModel(
    string Organization,
    string ReturnUrl,
    string AntiforgeryToken,
    string UserName = "",
    bool PrivateComputer = false,
    string? Problem = null,
    string? Notice = null,
    string? OpenIdConnectName = null);
