using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace CasGateway.Authentication.Browser;

/// <summary>
/// ASP.NET Core's policy evaluator, minus one step that can only say "no": a request to OWA or ECP that carries no
/// session cookie is authenticated by the policy's other schemes (Basic, Bearer) without creating and running the
/// cookie handler, which would answer "not authenticated" for want of the cookie. With the cookie, or for any other
/// policy, the framework evaluates exactly as it stands. Authorization itself (the requirements) is always the framework's.
/// </summary>
internal sealed class BrowserPolicyEvaluator(PolicyEvaluator framework) : IPolicyEvaluator
{
    /// <summary>Each policy with the session scheme, and the same policy without it (kept as long as the policy lives).</summary>
    private static readonly ConditionalWeakTable<AuthorizationPolicy, AuthorizationPolicy> WithoutSession = [];

    public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context)
        => framework.AuthenticateAsync(HasNoSession(policy, context) ? WithoutSession.GetValue(policy, Reduce) : policy, context);

    public Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
        => framework.AuthorizeAsync(policy, authenticationResult, context, resource);

    /// <summary>The policy names the session scheme beside another one, and the request has no session cookie.</summary>
    private static bool HasNoSession(AuthorizationPolicy policy, HttpContext context)
        => policy.AuthenticationSchemes.Count > 1
            && policy.AuthenticationSchemes.Contains(BrowserSession.Scheme)
            && !context.Request.Cookies.ContainsKey(BrowserSession.CookieName);

    private static AuthorizationPolicy Reduce(AuthorizationPolicy policy)
        => new(policy.Requirements, policy.AuthenticationSchemes.Where(scheme => scheme != BrowserSession.Scheme));
}
