using Yarp.ReverseProxy.Forwarder;

namespace CasGateway.Forwarding;

/// <summary>
/// Tells the client's errors from the backend's: a backend request that could not be built from what the client
/// sent (<see cref="ForwarderError.RequestCreation"/>: a request transform threw) is the client's fault, so it is
/// answered 400 and counts toward no retry, breaker or passive health.
/// </summary>
public static class ForwardingFailures
{
    public static bool IsClientError(IForwarderErrorFeature? error) => error is { Error: ForwarderError.RequestCreation };
}

/// <summary>Thrown while building a backend request when the client's input cannot be forwarded as it is.</summary>
public sealed class ClientRequestException(string message) : Exception(message);
