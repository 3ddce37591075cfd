namespace CasGateway.EndToEnd;

/// <summary>Tests that measure this process's heap run alone, so other tests' allocations do not blur them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemorySensitive
{
    public const string Name = "Memory-sensitive";
}

/// <summary>
/// Samples the live managed heap (after a collection, so garbage does not count) while a transfer runs and reports
/// the peak growth over the start: a buffered body would show up as live bytes of its size.
/// </summary>
public sealed class HeapProbe : IDisposable
{
    private readonly long _baseline;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _peak;

    public HeapProbe()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        _baseline = GC.GetTotalMemory(true);
        _peak = _baseline;
        _sampler = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var now = GC.GetTotalMemory(forceFullCollection: true);
                if (now > Interlocked.Read(ref _peak))
                {
                    Interlocked.Exchange(ref _peak, now);
                }
                await Task.Delay(20);
            }
        });
    }

    public long PeakGrowth
    {
        get
        {
            _stop.Cancel();
            _sampler.Wait();
            return Interlocked.Read(ref _peak) - _baseline;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}
