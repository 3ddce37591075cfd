using System.Threading.RateLimiting;
using CasGateway.Anchoring;
using CasGateway.Configuration;
using CasGateway.Routing;
using CasGateway.Scale;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CasGateway.Throttling;

public static class ThrottlingStage
{
    /// <summary>Throttling policies (<c>Gateway:Throttling</c>) on ASP.NET Core rate limiting; counters in Redis when <c>Gateway:Redis</c> is set.</summary>
    public static WebApplicationBuilder AddThrottling(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<ThrottlingOptions>(ThrottlingOptions.Section);
        services.AddSingleton<InMemoryThrottleCounterStore>();
        if (!string.IsNullOrWhiteSpace(builder.Configuration[$"{RedisOptions.Section}:Configuration"]))
        {
            services.AddSharedRedis(builder.Configuration);
            services.AddSingleton<IThrottleCounterStore, RedisThrottleCounterStore>();
        }
        else
        {
            services.AddSingleton<IThrottleCounterStore>(sp => sp.GetRequiredService<InMemoryThrottleCounterStore>());
        }
        services.AddSingleton<RequestThrottle>();
        services.AddSingleton(sp => new MailSessionSlots(
            sp.GetRequiredService<IOptionsMonitor<ThrottlingOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<MailSessionSlots>>(), sp.GetService<SharedRedis>()));
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<RequestThrottle>((limiter, throttle) =>
        {
            limiter.GlobalLimiter = throttle;
            limiter.OnRejected = RejectAsync;
        });
        return builder;
    }

    /// <summary>After authentication: the budget is the user's.</summary>
    public static WebApplication UseThrottling(this WebApplication app)
    {
        app.UseRateLimiter();
        return app;
    }

    /// <summary>429 with Retry-After; ActiveSync clients get 503 with Retry-After, which is what they back off on (as Exchange answers them).</summary>
    private static ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var delay) ? delay : TimeSpan.FromSeconds(1);
        var limit = rejected.Lease.TryGetMetadata(RequestThrottle.ThrottleLimitName, out var name) ? name as string : null;
        var activeSync = context.Features.Get<IGatewayRequestFeature>()?.Family == ProtocolFamily.ActiveSync;
        var status = activeSync ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status429TooManyRequests;
        return new ValueTask(GatewayResponses.WriteAsync(context, status, "Throttled", $"Too many requests ({limit ?? "limit"}); try again later.", retryAfter));
    }
}
