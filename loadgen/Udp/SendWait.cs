// How an open-loop sender waits for a request's intended send time: polls for answers (inline receiver), sleeps, yields or spins.
using NetStack.Runtime;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// One open-loop sender's wait, by <see cref="GeneratorLimits"/>: with the receiver inline, the
/// sender reads answers while it waits (never a poll in the last <see cref="GeneratorLimits.InlinePollAboveMicros"/>,
/// and a yield when a poll found nothing and the send is still more than
/// <see cref="GeneratorLimits.SpinBelowMicros"/> away); otherwise it sleeps when the send is more than
/// <see cref="GeneratorLimits.SleepAboveMicros"/> away, yields above the spin bound, and spins below it.
/// Either way it offers its core at least every <see cref="GeneratorLimits.BusyYieldMicros"/> (<see cref="BusyYield"/>).
/// </summary>
internal struct SendWait(GeneratorLimits limits, bool inline)
{
    private readonly long _pollAbove = Clock.FromMicros(limits.InlinePollAboveMicros);
    private readonly long _spinBelow = Clock.FromMicros(limits.SpinBelowMicros);
    private readonly long _sleepAbove = Clock.FromMicros(limits.SleepAboveMicros);
    private BusyYield _busy = new(limits.BusyYieldMicros);

    /// <summary>One step of a wait at <paramref name="now"/>, <paramref name="wait"/> ticks before
    /// the send; true when it slept on purpose (a gap in the sender's clock reads that is not a stall).</summary>
    public bool Step(long now, long wait, Func<bool> pollOnce)
    {
        if (inline)
        {
            if (wait > _pollAbove && !pollOnce() && wait > _spinBelow)
            {
                Thread.Yield();
                _busy.GaveUp(now);
            }
            else
            {
                _busy.Running(now);
            }
            return false;
        }
        if (wait > _sleepAbove)
        {
            Thread.Sleep(1);
            _busy.GaveUp(now);
            return true;
        }
        if (wait > _spinBelow)
        {
            // A yield that comes back late is a stall: the thread was off its core, whoever took it.
            Thread.Yield();
            _busy.GaveUp(now);
        }
        else
        {
            _busy.Running(now);
        }
        return false;
    }

    /// <summary>The sender sent at <paramref name="now"/>: a sender that is behind sends without
    /// waiting, and offers its core once it has held it for the busy bound.</summary>
    public void Sent(long now) => _busy.Running(now);
}

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

    /// <summary>Yields made because the bound had passed.</summary>
    public long Yields { get; private set; }

    /// <summary>The thread offered its core at <paramref name="now"/> by itself (a yield or a sleep).</summary>
    public void GaveUp(long now) => _gaveUpTicks = now;

    /// <summary>The thread is running at <paramref name="now"/>: yields if it has not offered its core for the bound.</summary>
    public void Running(long now)
    {
        if (now - _gaveUpTicks >= _boundTicks)
        {
            Thread.Yield();
            _gaveUpTicks = now;
            Yields++;
        }
    }
}
