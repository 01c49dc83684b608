// Benchmark 7: what the IOKernel's write prefetch costs by itself (once per completion popped).
using BenchmarkDotNet.Attributes;
using NetStack.Runtime;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// One <see cref="WritePrefetch.Lines"/> per operation (four <c>prefetchw</c> through the unmanaged function
/// pointer) over lines this core already holds, against four <c>Sse.Prefetch0</c> (Baseline: the read
/// prefetch .NET has an intrinsic for, inlined): the fixed cost of the call, not the invalidations it
/// starts, which only a cross-core run shows (docs/results.md §1p). Where prefetchw is off the call is a
/// branch; the run's log prints which.
/// </summary>
[MemoryDiagnoser]
public unsafe class WritePrefetchBenchmarks
{
    private const int Calls = 1000;
    private byte[] _lines = [];
    private byte* _base;

    [GlobalSetup]
    public void Setup()
    {
        Console.WriteLine($"// WritePrefetch: {WritePrefetch.Describe()}");
        _lines = GC.AllocateArray<byte>(64 * 64, pinned: true);
        fixed (byte* p = _lines)
        {
            _base = p; // pinned: the address stays
        }
    }

    /// <summary>Four read prefetches (prefetcht0), inlined.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Calls)]
    public void Sse_Prefetch0_x4()
    {
        byte* p = _base;
        for (int i = 0; i < Calls; i++)
        {
            byte* line = p + (i & 15) * 256;
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(line);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(line + 63);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(line + 128);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(line + 191);
        }
    }

    /// <summary>WritePrefetch.Lines: four prefetchw in the native function.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public void WritePrefetch_Lines()
    {
        byte* p = _base;
        for (int i = 0; i < Calls; i++)
        {
            byte* line = p + (i & 15) * 256;
            WritePrefetch.Lines(line, line + 63, line + 128, line + 191);
        }
    }
}
