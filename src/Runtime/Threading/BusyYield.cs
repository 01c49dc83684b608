// A thread that may share its core offers it at a bounded interval while it runs: IdleStrategy's busy yield and the load generator's senders.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// A thread that may share its core offers it (<c>sched_yield</c>) at least every so many µs while
/// it runs. Without it, two polling threads on one core (the generator and an IOKernel) each keep
/// the core for as long as they find work, and the kernel takes it back only at its tick: 4 ms on
/// the reference VM (HZ = 250, no kernel preemption), during which the other's requests wait
/// (traced with perf sched_switch, docs/results.md). A yield with nothing else runnable returns in
/// well under a microsecond.
/// </summary>
internal struct BusyYield(double micros)
{
    private readonly long _boundTicks = micros <= 0 ? long.MaxValue : Clock.FromMicros(micros);
    private long _gaveUpTicks;
    private long _yields;

    /// <summary>Yields made because the bound had passed.</summary>
    public readonly long Yields => _yields;

    /// <summary>When the thread last offered its core, in ticks; 0 before the first.</summary>
    public readonly long GaveUpTicks => _gaveUpTicks;

    /// <summary>The thread offered its core at <paramref name="now"/> by itself (a yield, a sleep or a park).</summary>
    public void GaveUp(long now) => _gaveUpTicks = now;

    /// <summary>The thread is running at <paramref name="now"/>: yields if it has not offered its core for the bound.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Running(long now)
    {
        if (now - _gaveUpTicks >= _boundTicks)
        {
            Yield(now);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Yield(long now)
    {
        Thread.Yield();
        _gaveUpTicks = now;
        _yields++;
    }
}
