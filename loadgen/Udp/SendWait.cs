// How an open-loop sender waits for a request's intended send time: polls for answers (inline receiver), sleeps, yields or spins.
using NetStack.Runtime;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// One open-loop sender's wait, by <see cref="GeneratorLimits"/>: with the receiver inline, the
/// sender reads answers while it waits (never a poll in the last <see cref="GeneratorLimits.InlinePollAboveMicros"/>,
/// and a yield when a poll found nothing and the send is still more than
/// <see cref="GeneratorLimits.SpinBelowMicros"/> away); otherwise it sleeps when the send is more than
/// <see cref="GeneratorLimits.SleepAboveMicros"/> away, yields above the spin bound, and spins below it.
/// </summary>
internal readonly struct SendWait(GeneratorLimits limits, bool inline)
{
    private readonly long _pollAbove = Clock.FromMicros(limits.InlinePollAboveMicros);
    private readonly long _spinBelow = Clock.FromMicros(limits.SpinBelowMicros);
    private readonly long _sleepAbove = Clock.FromMicros(limits.SleepAboveMicros);

    /// <summary>One step of a wait with <paramref name="wait"/> ticks to go; true when it slept on
    /// purpose (a gap in the sender's clock reads that is not a stall).</summary>
    public bool Step(long wait, Func<bool> pollOnce)
    {
        if (inline)
        {
            if (wait > _pollAbove && !pollOnce() && wait > _spinBelow)
            {
                Thread.Yield();
            }
            return false;
        }
        if (wait > _sleepAbove)
        {
            Thread.Sleep(1);
            return true;
        }
        if (wait > _spinBelow)
        {
            // A yield that comes back late is a stall: the thread was off its core, whoever took it.
            Thread.Yield();
        }
        return false;
    }
}
