using System.Diagnostics;
using System.Globalization;
using CasGateway.Location;

namespace CasGateway.Micro;

/// <summary>Times <see cref="DirectoryFileSource.Load"/> on a generated directory (bench/gen-directory.py).</summary>
internal static class DirectoryLoad
{
    public static void Run(string path, int repeat)
    {
        var process = Process.GetCurrentProcess();
        DirectorySnapshot? snapshot = null;
        for (var i = 0; i < repeat; i++)
        {
            snapshot = null;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            var gen0 = GC.CollectionCount(0);
            var gen2 = GC.CollectionCount(2);
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            snapshot = DirectoryFileSource.Load(path);
            var wall = Stopwatch.GetElapsedTime(started);
            process.Refresh();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"load {i + 1}: {snapshot.MailboxCount} mailboxes in {wall.TotalMilliseconds:F0} ms, CPU {(process.TotalProcessorTime - cpu).TotalMilliseconds:F0} ms, " +
                $"GCs gen0 {GC.CollectionCount(0) - gen0} gen2 {GC.CollectionCount(2) - gen2}, allocated {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1048576.0:F0} MB"));
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kept: managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1048576.0:F0} MB, RSS {process.WorkingSet64 / 1048576.0:F0} MB ({snapshot?.MailboxCount} mailboxes)"));
    }
}
