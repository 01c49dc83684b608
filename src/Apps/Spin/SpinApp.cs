// spin: the latency-critical app of the literature: busy-works for each request's service time.
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.Apps.Spin;

/// <summary>
/// Busy-works for the request's service time, measured against the clock rather than an
/// iteration count calibrated once (which drifts with frequency scaling and noisy neighbours),
/// then echoes the request's payload as its reply. Time before the current slice started was
/// spent queued, not working, so it is not counted. Every loop iteration (one clock read, ~20 ns)
/// passes a checkpoint, so a preemption is seen within a few tens of nanoseconds.
/// </summary>
internal sealed class SpinApp : IRequestHandler
{
    /// <summary>Request types the spin app accepts (0 to 15). The type only labels results, so a
    /// workload can report each class apart; a network request of a higher type is unknown-type.</summary>
    public const int TypeCount = 16;

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
    public async ValueTask HandleAsync(RequestContext ctx)
    {
        long remaining = Clock.FromNs(ctx.ServiceNs);
        // A request with no service time reads no clock (the dispatcher's ceiling runs on them).
        long last = remaining > 0 ? Clock.Now() : 0;
        while (remaining > 0)
        {
            await ctx.Checkpoint();
            long now = Clock.Now();
            // This loop reads the clock every few tens of ns: a jump is the machine taking the core.
            StallWatch.ObserveInHandler(now);
            remaining -= now - Math.Max(last, ctx.SliceStartTicks);
            last = now;
        }
        if (!ctx.Request.IsEmpty)
        {
            ctx.Reply.Write(ctx.Request);
        }
    }
}
