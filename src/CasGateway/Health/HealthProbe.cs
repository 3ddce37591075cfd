using System.Text;
using CasGateway.Configuration;
using Microsoft.Extensions.Options;

namespace CasGateway.Health;

/// <summary>
/// Answers <c>/&lt;family&gt;/healthcheck.htm</c> from memory: the component's drain phase and the cached
/// dependency result. <c>200 OK&lt;br/&gt;&lt;node&gt;</c> when up; otherwise 503, or the connection closed.
/// </summary>
public sealed class HealthProbe
{
    private readonly DrainCoordinator _drain;
    private readonly DependencyHealth _dependencies;
    private readonly HealthFailureMode _failureMode;
    private readonly byte[] _up;
    private readonly byte[] _down;

    public HealthProbe(DrainCoordinator drain, DependencyHealth dependencies, IOptions<GatewayOptions> gateway, IOptions<HealthOptions> options)
    {
        _drain = drain;
        _dependencies = dependencies;
        _failureMode = options.Value.FailureMode;
        _up = Encoding.UTF8.GetBytes("200 OK<br/>" + gateway.Value.NodeName);
        _down = Encoding.UTF8.GetBytes("503 Service Unavailable<br/>" + gateway.Value.NodeName);
    }

    /// <summary>Whether the component serves: in service (and the node too) and its dependencies answer.</summary>
    public bool IsUp(ServerComponent component) => _drain.PhaseOf(component) == DrainPhase.Serving && _dependencies.IsHealthy;

    public Task AnswerAsync(HttpContext context, ServerComponent component)
    {
        var up = IsUp(component);
        if (!up && _failureMode == HealthFailureMode.CloseConnection)
        {
            context.Abort();
            return Task.CompletedTask;
        }
        var response = context.Response;
        var body = up ? _up : _down;
        response.StatusCode = up ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }
}
