using Microsoft.Extensions.Hosting;

namespace CasGateway.TestSupport;

/// <summary>
/// The lifetime of a gateway hosted inside the test process: no POSIX signal handlers. The gateway's own
/// <c>DrainingHostLifetime</c> cancels SIGTERM to drain first, which in a test host would swallow the SIGTERM meant
/// for the whole test run (a CI timeout, a hang dump). SIGTERM draining is tested on a gateway process of its own.
/// </summary>
public sealed class InProcessHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
