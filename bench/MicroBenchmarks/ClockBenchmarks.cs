// Benchmark 6: what one read of the hot path's clock costs (two per slice on a carrier, more on the IOKernel).
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using NetStack.Runtime;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// One <see cref="Clock.Now"/> per operation, in a loop of <see cref="Reads"/> whose sum is returned
/// so no read is dropped, against <see cref="Stopwatch.GetTimestamp"/> (Baseline: CLOCK_MONOTONIC
/// through the runtime's P/Invoke and the vDSO), which is what Clock read before it read the TSC.
/// Where the TSC is not used (<see cref="Clock.Source"/> says why) the two are the same clock and
/// should cost the same; the run's log prints the source.
/// </summary>
[MemoryDiagnoser]
public class ClockBenchmarks
{
    private const int Reads = 1000;

    [GlobalSetup]
    public void Setup() => Console.WriteLine($"// Clock.Source: {Clock.Source}");

    /// <summary>Stopwatch.GetTimestamp: clock_gettime(CLOCK_MONOTONIC).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Reads)]
    public long Stopwatch_GetTimestamp()
    {
        long sum = 0;
        for (int i = 0; i < Reads; i++)
        {
            sum += Stopwatch.GetTimestamp();
        }
        return sum;
    }

    /// <summary>Clock.Now: lfence; rdtsc, scaled to nanoseconds, where the kernel's clocksource is the TSC.</summary>
    [Benchmark(OperationsPerInvoke = Reads)]
    public long Clock_Now()
    {
        long sum = 0;
        for (int i = 0; i < Reads; i++)
        {
            sum += Clock.Now();
        }
        return sum;
    }
}
