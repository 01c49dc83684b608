// How an open-loop sender waits for a request's intended send time: polls for answers (inline receiver), sleeps, yields or spins.
using NetStack.Runtime;
using NetStack.Runtime.Threading;

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
