// The micro-benchmarks' entry point: BenchmarkDotNet's switcher (--filter, --job, --list; bench/micro.sh runs it).
using BenchmarkDotNet.Running;

namespace NetStack.MicroBenchmarks;

/// <summary>Runs the benchmarks the command line selects, with BenchmarkDotNet's own options.</summary>
public static class Program
{
    /// <summary>BenchmarkDotNet's exit code: non-zero when a benchmark failed.</summary>
    public static int Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
