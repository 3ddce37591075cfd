using Microsoft.Net.Http.Headers;

namespace CasGateway.Listeners;

/// <summary>
/// Strict HTTP/1.1 framing on the client side, as nginx and HAProxy have it: lines must end in CRLF (Kestrel's
/// <c>DisableHttp1LineFeedTerminators</c> switch), and a request carrying both <c>Content-Length</c> and
/// <c>Transfer-Encoding</c> is refused with 400 and the connection closed: two framings that disagree are how
/// requests get smuggled past one hop into the next. (Kestrel 10 serves such a request by the chunked framing,
/// renames its <c>Content-Length</c> to <c>X-Content-Length</c> and closes the connection afterwards.)
/// </summary>
public static class StrictFraming
{
    public const string LineFeedSwitch = "Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators";

    public static void Enable(IServiceCollection services)
    {
        AppContext.SetSwitch(LineFeedSwitch, true);
        services.AddTransient<IStartupFilter, StartupFilter>();
    }

    /// <summary>The name Kestrel moves a request's Content-Length to when Transfer-Encoding is also present.</summary>
    public const string RenamedContentLength = "X-Content-Length";

    /// <summary>Whether the request declared its body length twice (only HTTP/1.x has Transfer-Encoding).</summary>
    public static bool IsAmbiguous(HttpRequest request)
        => request.Headers.ContainsKey(HeaderNames.TransferEncoding)
            && (request.Headers.ContainsKey(HeaderNames.ContentLength) || request.Headers.ContainsKey(RenamedContentLength));

    private sealed class StartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                if (IsAmbiguous(context.Request))
                {
                    context.Response.StatusCode = StatusCodes.Status400BadRequest;
                    context.Response.Headers.Connection = "close";
                    context.Response.Headers.XContentTypeOptions = "nosniff";
                    await context.Response.WriteAsync("400 AmbiguousFraming\n");
                    return;
                }
                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
