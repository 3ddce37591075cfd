using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// The runtime's AllocationTick events (one per ~100 KB allocated on a heap, naming the type of the object that
// crossed the mark) summed by type: a sample of where a process's allocated bytes go. Usage:
//   AllocTop TRACE.nettrace REQUESTS [TOP]   (REQUESTS: requests served while tracing, for bytes per request)
if (args.Length < 2 || !double.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var requests) || requests <= 0)
{
    Console.Error.WriteLine("usage: AllocTop TRACE.nettrace REQUESTS [TOP]");
    return 2;
}
var top = args.Length > 2 && int.TryParse(args[2], out var n) ? n : 40;
var bytesByType = new Dictionary<string, long>(StringComparer.Ordinal);
long total = 0;
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += (GCAllocationTickTraceData tick) =>
    {
        // AllocationAmount64 is the bytes allocated since the previous tick on that heap: the sample's weight.
        var name = string.IsNullOrEmpty(tick.TypeName) ? "(unknown type)" : tick.TypeName;
        bytesByType[name] = bytesByType.GetValueOrDefault(name) + tick.AllocationAmount64;
        total += tick.AllocationAmount64;
    };
    source.Process();
}
Console.WriteLine($"{total / requests:N0} bytes allocated per request (sampled), {requests:N0} requests\n");
Console.WriteLine("| bytes per request | share | type |\n| ---: | ---: | --- |");
foreach (var (type, bytes) in bytesByType.OrderByDescending(p => p.Value).Take(top))
{
    Console.WriteLine($"| {bytes / requests:N0} | {100.0 * bytes / total:F1} % | `{type}` |");
}
return 0;
