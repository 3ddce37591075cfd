using System.Diagnostics;

namespace CasGateway.Observability;

/// <summary>The gateway's own spans (the request and forward spans come from ASP.NET Core and the HTTP client).</summary>
public static class GatewayTracing
{
    public const string SourceName = "CasGateway";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the span of a locator lookup (cache or store); null when nobody listens.</summary>
    public static Activity? StartLocate() => Source.StartActivity("Locate");

    /// <summary>Ends a locate span, noting whether the cache answered.</summary>
    public static void EndLocate(Activity? span, bool fromCache)
    {
        if (span is null)
        {
            return;
        }
        span.SetTag("casgateway.locate.cache_hit", fromCache);
        span.Dispose();
    }
}
