using BenchmarkDotNet.Running;

// `load-directory FILE [REPEAT]`: loads a directory file as the File store does, REPEAT times, and prints the time,
// the CPU, the collections and the allocations of each load and the managed heap it leaves (a measurement, not a
// BenchmarkDotNet run: a load of a million mailboxes takes seconds). Anything else goes to BenchmarkDotNet.
if (args is ["load-directory", var file, ..])
{
    CasGateway.Micro.DirectoryLoad.Run(file, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CasGateway.Micro.AnchorBenchmarks).Assembly).Run(args);
