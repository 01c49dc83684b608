// Measures how far the machine's caches reach: a dependent pointer chase over a buffer of a given size.
using System.Diagnostics;
using NetStack.Runtime;

namespace NetStack.LoadGen.Noise;

/// <summary>
/// Nanoseconds per load through a random cyclic chain of cache lines, one dependent load after
/// another, on a pinned thread. Below the L2's size it reads the L2 (~5 ns on the AMD VM); a few
/// MiB should be an L3 hit (~20–40 ns) but on a VM whose L3 other tenants share it is often a trip
/// to memory (150–230 ns): on 2026-12-02 the AMD VM's 4 MiB chase read 150–195 ns most of the time and
/// 32 ns once, and on those hours its dispatcher ceiling was a quarter to a fifth of what it had been. A full
/// central queue of 8192 requests spreads its state (green threads, contexts, reply buffers) over
/// several MiB, so this tells a ceiling run which kind of cache it got.
/// </summary>
internal static class MemoryProbe
{
    /// <summary>The buffer reports record: of the order of a full 8192-deep queue's state.</summary>
    public const int ReportKiB = 4096;

    /// <summary>A 4 MiB chase slower than this is not an L3 hit (those are 20–40 ns; memory is 150 and up).</summary>
    public const double MemoryBoundNs = 100;

    /// <summary>The report's note when the 4 MiB chase went to memory, or null.</summary>
    public static string? SpillsToMemory(double chase4MiBNs) => chase4MiBNs > MemoryBoundNs
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"memory: a 4 MiB pointer chase took {chase4MiBNs:0} ns a load at the start (an L3 hit is 20-40): the caches held less than a full central queue, so a deep queue's requests come from memory and ceilings and loaded points run slower than on an L3 that holds them")
        : null;

    /// <summary>Measures the 4 MiB chase on <paramref name="core"/> into the report's machine, with the
    /// note when it went to memory.</summary>
    public static void Record(NetStack.Measurement.Reports.RunReport report, int core)
    {
        double chase = ChaseNs(ReportKiB, core);
        report.Machine.MemoryChase4MiBNs = chase;
        if (SpillsToMemory(chase) is { } note)
        {
            report.Config.Notes.Add(note);
        }
    }

    /// <summary>Median ns per dependent load over three passes of <paramref name="loads"/> through
    /// <paramref name="kib"/> KiB, on <paramref name="core"/>.</summary>
    public static double ChaseNs(int kib, int core, int loads = 1_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kib, 4);
        double result = double.NaN;
        var thread = new Thread(() =>
        {
            Affinity.PinCurrentThread(core);
            result = Chase(kib, loads);
        }) { IsBackground = true };
        thread.Start();
        thread.Join();
        return result;
    }

    private static double Chase(int kib, int loads)
    {
        const int LongsPerLine = CacheLine.Size / sizeof(long);
        int lines = kib * 1024 / CacheLine.Size;
        // A random order of the lines, made a cycle: line order[i] points at line order[i + 1].
        int[] order = new int[lines];
        for (int i = 0; i < lines; i++)
        {
            order[i] = i;
        }
        new Random(1).Shuffle(order);
        long[] next = new long[lines * LongsPerLine];
        for (int i = 0; i < lines; i++)
        {
            next[order[i] * LongsPerLine] = order[(i + 1) % lines] * LongsPerLine;
        }
        long p = 0;
        for (int i = 0; i < lines; i++)
        {
            p = next[p]; // one lap to bring in what fits
        }
        var passes = new double[3];
        for (int pass = 0; pass < passes.Length; pass++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < loads; i++)
            {
                p = next[p];
            }
            passes[pass] = Stopwatch.GetElapsedTime(start).TotalNanoseconds / loads;
        }
        GC.KeepAlive(p);
        Array.Sort(passes);
        return passes[1];
    }
}
