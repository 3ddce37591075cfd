using CasGateway.Forwarding;

namespace CasGateway.Routing;

/// <summary>
/// The routing of one request as it runs, for the stages after the retry step: the plan in force (a new one per
/// retry), how many retries were made and may still be made, and the backend's verdict on the current attempt.
/// The retry step writes the plan and the counts; only the response transform writes the verdict.
/// </summary>
public sealed class RoutePlanFeature(RoutePlan plan)
{
    public RoutePlan Plan { get; internal set; } = plan;

    public int RetryCount { get; internal set; }

    /// <summary>Retries this request may still make (0 when its body streams and cannot be replayed).</summary>
    public int RetriesLeft { get; internal set; }

    public BackendVerdict Verdict { get; internal set; }
}
