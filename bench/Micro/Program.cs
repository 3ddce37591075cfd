using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(CasGateway.Micro.AnchorBenchmarks).Assembly).Run(args);
