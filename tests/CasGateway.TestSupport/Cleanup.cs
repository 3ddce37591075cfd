namespace CasGateway.TestSupport;

/// <summary>Test-class teardown that cleans up whatever a start-up got to, even when it failed half-way.</summary>
public static class Cleanup
{
    /// <summary>
    /// Disposes each resource in order, skipping those never created (null), and goes on past one that throws, so a
    /// gateway that failed to stop still lets its topology folder and servers be removed; rethrows the first failure.
    /// </summary>
    public static async Task DisposeAllAsync(params object?[] resources)
    {
        List<Exception>? failures = null;
        foreach (var resource in resources)
        {
            try
            {
                switch (resource)
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync();
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
            catch (Exception ex)
            {
                (failures ??= []).Add(ex);
            }
        }
        if (failures is { Count: 1 })
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        }
        if (failures is not null)
        {
            throw new AggregateException(failures);
        }
    }
}
