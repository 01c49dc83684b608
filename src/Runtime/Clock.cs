// Time: monotonic ticks for the hot path, and a clock seam so tests can drive time by hand.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NetStack.Runtime;

/// <summary>Monotonic time in <see cref="Stopwatch"/> ticks (CLOCK_MONOTONIC's scale, comparable across
/// cores). On Linux a tick is a nanosecond; the conversions keep other platforms right. Where the
/// kernel's clocksource is the TSC (x64), read from the TSC directly (<see cref="Source"/>).</summary>
public static class Clock
{
    /// <summary>Ticks per second.</summary>
    public static readonly long Frequency = Stopwatch.Frequency;

    private static readonly double s_ticksPerNs = Stopwatch.Frequency / 1e9;
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Now, in ticks (29 ns a read on the reference VM from the TSC, 35 through Stopwatch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Now() => TscClock.Enabled ? TscClock.Now() : Stopwatch.GetTimestamp();

    /// <summary>What <see cref="Now"/> reads: "tsc (... GHz, measured)", or "system (why not the TSC)".
    /// <c>NETSTACK_CLOCK=system</c> makes it Stopwatch's clock.</summary>
    public static string Source => TscClock.Source;

    /// <summary>Nanoseconds to ticks.</summary>
    public static long FromNs(long ns) => Stopwatch.Frequency == 1_000_000_000 ? ns : (long)(ns * s_ticksPerNs);

    /// <summary>Microseconds to ticks.</summary>
    public static long FromMicros(double micros) => (long)(micros * 1000 * s_ticksPerNs);

    /// <summary>Ticks to nanoseconds.</summary>
    public static long ToNs(long ticks) => Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * s_nsPerTick);

    /// <summary>Ticks to microseconds.</summary>
    public static double ToMicros(long ticks) => ticks * s_nsPerTick / 1000.0;
}

/// <summary>The time source of a loop that tests must be able to drive (the IOKernel's).
/// The system clock is sealed so the JIT's guarded devirtualization makes it a direct call.</summary>
internal abstract class TimeSource
{
    /// <summary>The machine's monotonic clock.</summary>
    public static readonly TimeSource System = new SystemTimeSource();

    /// <summary>Now, in <see cref="Clock"/> ticks.</summary>
    public abstract long Now();

    private sealed class SystemTimeSource : TimeSource
    {
        public override long Now() => Clock.Now();
    }
}

/// <summary>A clock that moves only when told: for deterministic tests of time-driven rules.</summary>
internal sealed class ManualTimeSource(long start = 1_000_000) : TimeSource
{
    private long _now = start;

    /// <inheritdoc />
    public override long Now() => Volatile.Read(ref _now);

    /// <summary>Moves the clock forward.</summary>
    public void Advance(long ticks) => Interlocked.Add(ref _now, ticks);

    /// <summary>Moves the clock forward by microseconds.</summary>
    public void AdvanceMicros(double micros) => Advance(Clock.FromMicros(micros));
}
