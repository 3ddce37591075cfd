using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Routing;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace CasGateway.Autodiscover;

/// <summary>Body of <c>POST /admin/explain/autodiscover</c>.</summary>
public sealed record AutodiscoverExplainRequest(string User);

public static class AutodiscoverStage
{
    public const string PoxPath = "/autodiscover/autodiscover.xml";
    public const string SoapPath = "/autodiscover/autodiscover.svc";

    /// <summary>The gateway's own Autodiscover answers (POX, SOAP, JSON) and mail autoconfiguration.</summary>
    public static WebApplicationBuilder AddAutodiscover(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<AutodiscoverOptions>(AutodiscoverOptions.Section);
        services.AddSingleton<PublishedNamespaces>();
        services.AddSingleton<AutodiscoverResolver>();
        services.AddSingleton<PoxAutodiscover>();
        services.AddSingleton<SoapAutodiscover>();
        services.AddSingleton<JsonAutodiscover>();
        services.AddSingleton<MailAutoconfig>();
        return builder;
    }

    /// <summary>
    /// After authentication and before the proxy: POX and SOAP requests on the Autodiscover route are answered here
    /// unless the mailbox is on an older version (then they go on to the proxy, body intact). JSON v2 and the mail
    /// autoconfiguration are anonymous endpoints of their own. Nothing is mapped when <c>Enabled</c> is false.
    /// </summary>
    public static WebApplication UseAutodiscover(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<AutodiscoverOptions>>().Value.Enabled)
        {
            return app;
        }
        var pox = app.Services.GetRequiredService<PoxAutodiscover>();
        var soap = app.Services.GetRequiredService<SoapAutodiscover>();
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsPost(context.Request.Method) && context.User.Identity?.IsAuthenticated == true && OnAutodiscoverRoute(context))
            {
                var path = context.Request.Path;
                if (path.Equals(PoxPath, StringComparison.OrdinalIgnoreCase) && await pox.TryAnswerAsync(context))
                {
                    return;
                }
                if (path.Equals(SoapPath, StringComparison.OrdinalIgnoreCase) && await soap.TryAnswerAsync(context))
                {
                    return;
                }
            }
            await next(context);
        });

        app.MapPost("/admin/explain/autodiscover", (AutodiscoverExplainRequest request, PoxAutodiscover explainer, CancellationToken cancellationToken)
                => explainer.ExplainAsync(request.User, cancellationToken))
            .RequireAuthorization(Health.HealthAdminRequirement.Policy);
        app.MapGet("/autodiscover/autodiscover.json", (HttpContext context, JsonAutodiscover json) => json.AnswerAsync(context, context.Request.Query["Email"].ToString()))
            .AllowAnonymous();
        app.MapGet("/autodiscover/autodiscover.json/v1.0/{address}", (HttpContext context, string address, JsonAutodiscover json) => json.AnswerAsync(context, address))
            .AllowAnonymous();
        app.MapGet("/.well-known/autoconfig/mail/config-v1.1.xml", (HttpContext context, MailAutoconfig autoconfig) => autoconfig.Answer(context))
            .AllowAnonymous();
        app.MapGet("/mail/config-v1.1.xml", (HttpContext context, MailAutoconfig autoconfig) => autoconfig.Answer(context))
            .AllowAnonymous();
        return app;
    }

    /// <summary>What was answered, for the protocol log (family, rule).</summary>
    internal static void Record(HttpContext context, AutodiscoverAnswer answer)
        => context.Features.Set(new RoutePlanFeature(new RoutePlan(
            ProtocolFamily.Autodiscover,
            answer.Kind == AnswerKind.RedirectAddress ? RouteAction.Redirect : RouteAction.Proxy,
            answer.Rule ?? answer.Kind.ToString(),
            "AutodiscoverRequest",
            RouteSource.None)));

    private static bool OnAutodiscoverRoute(HttpContext context)
        => context.Features.Get<IGatewayRequestFeature>()?.Family == ProtocolFamily.Autodiscover;
}
