using CasGateway.BackendAuth;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Forwarding;

/// <summary>What came of one forwarding attempt, as far as routing cares.</summary>
public enum BackendVerdictKind
{
    /// <summary>The backend answered for the mailbox (whatever the status), or failed in a way a retry cannot fix.</summary>
    Answered,

    /// <summary><c>X-DBMountedOnServer</c>: the database's active copy is on another server (named, when well formed).</summary>
    MountedElsewhere,

    /// <summary><c>X-BEServerRoutingError</c>: the backend could not route the request to the mailbox.</summary>
    RoutingError,

    /// <summary>The request never reached the server: connect refused or timed out, TLS failure, breaker open, dropped before any response byte.</summary>
    NeverReached,
}

/// <summary>
/// The typed verdict the retry step acts on. The response transform reads the backend's routing headers
/// (<see cref="FromResponse"/>); transport failures are classified in <see cref="Of"/> — the one place that says
/// which forwarding failures are worth another server.
/// </summary>
public readonly record struct BackendVerdict(BackendVerdictKind Kind, string? Server = null, string? Detail = null)
{
    public static readonly BackendVerdict Answered = default;

    /// <summary>The route was wrong (the backend said so, or could not be reached): drop it and plan again.</summary>
    public bool RouteFailed => Kind != BackendVerdictKind.Answered;

    /// <summary>The backend's own routing verdict in its response headers, if it gave one.</summary>
    public static BackendVerdict FromResponse(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues(GatewayHeaders.DbMountedOnServer, out var values))
        {
            var mounted = values.FirstOrDefault();
            return new BackendVerdict(BackendVerdictKind.MountedElsewhere, ServerOf(mounted), mounted);
        }
        return response.Headers.Contains(GatewayHeaders.BackendRoutingError)
            ? new BackendVerdict(BackendVerdictKind.RoutingError, Detail: "routing error")
            : Answered;
    }

    /// <summary>The attempt's verdict: the response transform's, else the forwarder's failure classified.</summary>
    public static BackendVerdict Of(HttpContext context, BackendVerdict fromResponse)
        => fromResponse.RouteFailed ? fromResponse
            : NeverReachedServer(context) ? new BackendVerdict(BackendVerdictKind.NeverReached)
            : Answered;

    /// <summary>
    /// The backend could not be reached or dropped the connection before any response byte: connect failures and
    /// timeouts, an open breaker, a reset or a closed connection while sending. Not: the client giving up, or a
    /// long-running request hitting its activity timeout.
    /// </summary>
    private static bool NeverReachedServer(HttpContext context)
        => context.Features.Get<IForwarderErrorFeature>() is { } error
            && !context.RequestAborted.IsCancellationRequested
            && (error.Error is ForwarderError.Request or ForwarderError.RequestBodyDestination || BackendCircuitHandler.NeverReachedServer(error.Exception));

    /// <summary>The server in <c>&lt;db guid&gt;~&lt;server fqdn&gt;~&lt;version&gt;</c>, if well formed.</summary>
    private static string? ServerOf(string? verdict)
    {
        var parts = verdict?.Split('~');
        return parts is { Length: 3 } && Uri.CheckHostName(parts[1]) == UriHostNameType.Dns ? parts[1] : null;
    }
}
