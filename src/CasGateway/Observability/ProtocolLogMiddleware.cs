using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace CasGateway.Observability;

/// <summary>
/// The outermost gateway middleware: starts the request's record, counts body bytes, and writes the protocol log
/// line and the request metrics once the response has completed (off the request's own path).
/// </summary>
internal sealed class ProtocolLogMiddleware(RequestDelegate next, ProtocolLogWriter writer)
{
    private readonly Func<object, Task> _onCompleted = state =>
    {
        writer.Write((HttpContext)state);
        return Task.CompletedTask;
    };

    public async Task InvokeAsync(HttpContext context)
    {
        var record = new RequestRecord(Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow, context.Features.Get<IHttpActivityFeature>()?.Activity);
        var requestBody = context.Request.Body;
        var responseBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        record.RequestBody = new CountingRequestStream(requestBody);
        record.ResponseBody = new CountingResponseBody(responseBody);
        context.Request.Body = record.RequestBody;
        context.Features.Set<IHttpResponseBodyFeature>(record.ResponseBody);
        context.Features.Set(record);
        context.Response.OnCompleted(_onCompleted, context);
        RequestRecord.Current = record;
        try
        {
            await next(context);
        }
        finally
        {
            record.HandlerEnded = Stopwatch.GetTimestamp();
            context.Request.Body = requestBody;
            context.Features.Set(responseBody);
        }
    }
}
