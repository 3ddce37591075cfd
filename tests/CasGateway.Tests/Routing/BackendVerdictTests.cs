using CasGateway.Forwarding;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Tests.Routing;

/// <summary>The typed verdict the retry step acts on: the backend's routing headers and the forwarder's failures.</summary>
public sealed class BackendVerdictTests
{
    [Theory]
    [InlineData("X-DBMountedOnServer", "3f1c0e52-0000-4000-8000-000000000001~mbx2.contoso.com~15.2.1544.4", BackendVerdictKind.MountedElsewhere, "mbx2.contoso.com")]
    [InlineData("X-DBMountedOnServer", "garbage", BackendVerdictKind.MountedElsewhere, null)]
    [InlineData("X-DBMountedOnServer", "db~evil.example.net/x~15", BackendVerdictKind.MountedElsewhere, null)]
    [InlineData("X-BEServerRoutingError", "Mailbox not here", BackendVerdictKind.RoutingError, null)]
    [InlineData("X-Other", "1", BackendVerdictKind.Answered, null)]
    public void The_backends_routing_headers_become_a_verdict(string header, string value, BackendVerdictKind kind, string? server)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK);
        response.Headers.TryAddWithoutValidation(header, value);
        var verdict = BackendVerdict.FromResponse(response);
        Assert.Equal(kind, verdict.Kind);
        Assert.Equal(server, verdict.Server);
        Assert.Equal(kind != BackendVerdictKind.Answered, verdict.RouteFailed);
    }

    [Theory]
    [InlineData(ForwarderError.Request, false, BackendVerdictKind.NeverReached)]
    [InlineData(ForwarderError.RequestBodyDestination, false, BackendVerdictKind.NeverReached)]
    [InlineData(ForwarderError.Request, true, BackendVerdictKind.Answered)]
    [InlineData(ForwarderError.RequestTimedOut, false, BackendVerdictKind.Answered)]
    [InlineData(ForwarderError.ResponseBodyClient, false, BackendVerdictKind.Answered)]
    [InlineData(ForwarderError.None, false, BackendVerdictKind.Answered)]
    public void Only_failures_that_never_reached_the_server_are_worth_another(ForwarderError error, bool clientGaveUp, BackendVerdictKind expected)
    {
        var context = new DefaultHttpContext();
        using var aborted = new CancellationTokenSource();
        context.RequestAborted = aborted.Token;
        if (clientGaveUp)
        {
            aborted.Cancel();
        }
        if (error != ForwarderError.None)
        {
            context.Features.Set<IForwarderErrorFeature>(new Failure(error, new HttpRequestException("x")));
        }
        Assert.Equal(expected, BackendVerdict.Of(context, BackendVerdict.Answered).Kind);
    }

    [Fact]
    public void A_connect_failure_hidden_in_a_timeout_or_an_open_breaker_never_reached_the_server()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IForwarderErrorFeature>(new Failure(ForwarderError.RequestTimedOut, new Polly.CircuitBreaker.BrokenCircuitException()));
        Assert.Equal(BackendVerdictKind.NeverReached, BackendVerdict.Of(context, BackendVerdict.Answered).Kind);
    }

    [Fact]
    public void The_response_transforms_verdict_wins_over_the_forwarders()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IForwarderErrorFeature>(new Failure(ForwarderError.Request, null));
        var mounted = new BackendVerdict(BackendVerdictKind.MountedElsewhere, "mbx2.contoso.com");
        Assert.Equal(mounted, BackendVerdict.Of(context, mounted));
    }

    private sealed class Failure(ForwarderError error, Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error => error;

        public Exception? Exception => exception;
    }
}
