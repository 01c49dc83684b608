// The hot path's clock on x64 Linux with a TSC clocksource: lfence; rdtsc, scaled to nanoseconds.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace NetStack.Runtime;

/// <summary>
/// Reads the time stamp counter through a 13-byte function (<c>lfence; rdtsc; shl rdx, 32;
/// or rax, rdx; ret</c>) in a page of its own, called as an unmanaged function pointer without a
/// GC transition, and scales it to CLOCK_MONOTONIC nanoseconds with a rate measured at start.
/// This is what Linux's vDSO does for <c>clock_gettime</c> when its clocksource is the TSC, without
/// the P/Invoke, the seqlock and the vvar page's line (on the reference VM, 2026-12-02, 29.3 ns a read
/// against Stopwatch.GetTimestamp's 35.0: bench/MicroBenchmarks/ClockBenchmarks.cs measures both).
/// </summary>
/// <remarks>
/// Used only where the kernel itself trusts the TSC (its clocksource is <c>tsc</c>: invariant and
/// synchronized across cores, so a slice start read on a carrier and "now" read on the IOKernel
/// compare), on x64, where Stopwatch counts nanoseconds; <c>NETSTACK_CLOCK=system</c> turns it off.
/// The lfence keeps the read in program order (rdtsc alone may run ahead of earlier instructions,
/// and a duration could come out negative). The rate is measured against Stopwatch over
/// <see cref="CalibrationMillis"/>: a few ppm of error, which no duration NetStack measures can see;
/// Clock ticks are compared only within a process, never across (a reply carries durations).
/// </remarks>
internal static unsafe class TscClock
{
    /// <summary>How long the start-up calibration spins.</summary>
    public const int CalibrationMillis = 4;

    /// <summary>Whether <see cref="Now"/> reads the TSC (otherwise Clock uses Stopwatch).</summary>
    public static readonly bool Enabled;

    /// <summary>"tsc (G GHz, measured)", or "system (why the TSC is not used)".</summary>
    public static readonly string Source;

    private static readonly delegate* unmanaged[SuppressGCTransition]<long> s_read;
    private static readonly long s_baseNs;
    private static readonly long s_baseTsc;
    private static readonly long s_multiplier; // nanoseconds per cycle, 32.32 fixed point

    private static ReadOnlySpan<byte> ReadCode => [0x0F, 0xAE, 0xE8, 0x0F, 0x31, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];

    static TscClock()
    {
        string? refused = Refusal();
        if (refused is not null)
        {
            Source = "system (" + refused + ")";
            return;
        }
        nint page = NativeCode.Map(ReadCode);
        if (page == 0)
        {
            Source = "system (could not map the rdtsc function)";
            return;
        }
        s_read = (delegate* unmanaged[SuppressGCTransition]<long>)page;
        (long ns0, long tsc0) = Pair(s_read);
        long until = ns0 + CalibrationMillis * 1_000_000L;
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
        (long ns1, long tsc1) = Pair(s_read);
        if (tsc1 <= tsc0 || ns1 <= ns0)
        {
            Source = "system (the TSC did not advance with the clock)";
            return;
        }
        s_multiplier = (long)((double)(ns1 - ns0) / (tsc1 - tsc0) * (1L << 32));
        s_baseNs = ns0;
        s_baseTsc = tsc0;
        Enabled = true;
        Source = $"tsc ({(double)(tsc1 - tsc0) / (ns1 - ns0):F3} GHz, measured)";
    }

    /// <summary>Now, in nanoseconds on CLOCK_MONOTONIC's scale. Only when <see cref="Enabled"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Now()
    {
        long high = Math.BigMul(s_read() - s_baseTsc, s_multiplier, out long low);
        return s_baseNs + (high << 32 | (long)((ulong)low >> 32));
    }

    /// <summary>The reason not to use the TSC here, or null.</summary>
    private static string? Refusal()
    {
        if (Environment.GetEnvironmentVariable("NETSTACK_CLOCK") is "system")
        {
            return "NETSTACK_CLOCK=system";
        }
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !X86Base.IsSupported)
        {
            return "not x64 Linux";
        }
        if (Stopwatch.Frequency != 1_000_000_000)
        {
            return "Stopwatch does not count nanoseconds";
        }
        try
        {
            string source = File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource").Trim();
            return source == "tsc" ? null : $"the kernel's clocksource is {source}";
        }
        catch (IOException)
        {
            return "no clocksource in /sys";
        }
        catch (UnauthorizedAccessException)
        {
            return "no clocksource in /sys";
        }
    }

    /// <summary>A Stopwatch reading and the TSC at the same instant: the tightest of a few brackets, its midpoint.</summary>
    private static (long Ns, long Tsc) Pair(delegate* unmanaged[SuppressGCTransition]<long> read)
    {
        long bestGap = long.MaxValue, ns = 0, tsc = 0;
        for (int i = 0; i < 16; i++)
        {
            long before = read();
            long now = Stopwatch.GetTimestamp();
            long after = read();
            if (after - before < bestGap)
            {
                bestGap = after - before;
                ns = now;
                tsc = before + (after - before) / 2;
            }
        }
        return (ns, tsc);
    }
}
