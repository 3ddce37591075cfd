using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// The runtime's AllocationTick events (one per ~100 KB allocated on a heap, naming the type of the object that
// crossed the mark, with its call stack) summed by type and by the allocating method: a sample of where a process's
// allocated bytes go. The allocating method is the first frame outside the core library, so a string built by
// string.Concat is charged to the code that called it. Usage:
//   AllocTop TRACE.nettrace REQUESTS [TOP]   (REQUESTS: requests served while tracing, for bytes per request)
if (args.Length < 2 || !double.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var requests) || requests <= 0)
{
    Console.Error.WriteLine("usage: AllocTop TRACE.nettrace REQUESTS [TOP]");
    return 2;
}
var top = args.Length > 2 && int.TryParse(args[2], out var n) ? n : 40;
var byType = new Dictionary<string, long>(StringComparer.Ordinal);
var bySite = new Dictionary<string, long>(StringComparer.Ordinal);
long total = 0;
var etlx = TraceLog.CreateFromEventPipeDataFile(args[0]);
using (var log = new TraceLog(etlx))
{
    foreach (var data in log.Events)
    {
        if (data is not GCAllocationTickTraceData tick)
        {
            continue;
        }
        // AllocationAmount64 is the bytes allocated since the previous tick on that heap: the sample's weight.
        var type = string.IsNullOrEmpty(tick.TypeName) ? "(unknown type)" : tick.TypeName;
        byType[type] = byType.GetValueOrDefault(type) + tick.AllocationAmount64;
        var site = $"{Short(type)} ← {AllocatingMethod(tick.CallStack())}";
        bySite[site] = bySite.GetValueOrDefault(site) + tick.AllocationAmount64;
        total += tick.AllocationAmount64;
    }
}
File.Delete(etlx);
Console.WriteLine($"{total / requests:N0} bytes allocated per request (sampled), {requests:N0} requests\n");
Print("type", byType);
Console.WriteLine();
Print("type ← allocating method (first frame outside the core library)", bySite);
return 0;

void Print(string what, Dictionary<string, long> bytes)
{
    Console.WriteLine($"| bytes per request | share | {what} |\n| ---: | ---: | --- |");
    foreach (var (key, value) in bytes.OrderByDescending(p => p.Value).Take(top))
    {
        Console.WriteLine($"| {value / requests:N0} | {100.0 * value / total:F1} % | `{key}` |");
    }
}

static string AllocatingMethod(TraceCallStack? stack)
{
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        var method = frame.CodeAddress.FullMethodName;
        var module = frame.CodeAddress.ModuleName;
        if (string.IsNullOrEmpty(method) || module is "System.Private.CoreLib" or "System.Runtime" or "coreclr" or "libcoreclr")
        {
            continue;
        }
        return $"{module}!{Trim(method)}";
    }
    return "(no managed frame)";
}

static string Short(string type) => type.Length > 60 ? type[..60] + "…" : type;

static string Trim(string method) => method.Length > 140 ? method[..140] + "…" : method;
