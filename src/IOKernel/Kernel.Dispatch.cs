// Stage 3, dispatch: queued requests get their green threads and go to the mailboxes of their app's workers, shortest first (JBSQ(k)).
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Policies;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

internal sealed partial class Kernel
{
    /// <summary>Dispatches every latency-critical app's queue onto the workers it owns.</summary>
    private bool Dispatch(long now)
    {
        bool dispatched = false;
        foreach (KernelApp app in _apps)
        {
            if (app.Policy is { Count: > 0 } && app.Cores > 0)
            {
                dispatched |= Dispatch(app, now);
            }
        }
        return dispatched;
    }

    /// <summary>
    /// Join-bounded-shortest-queue: fill every worker of the app holding 0 requests, then every one
    /// holding 1, and so on up to k. The IOKernel counts what each worker holds itself (dispatched
    /// minus returned), so it never reads a carrier's line to decide.
    /// </summary>
    private bool Dispatch(KernelApp app, long now)
    {
        bool dispatched = false;
        int depth = _options.MailboxDepth;
        for (int level = 0; level < depth; level++)
        {
            for (int w = 0; w < _workers.Length; w++)
            {
                if (_slots[w].Owner != app.Id || _slots[w].Occupancy != level || _watch.IsStuck(w))
                {
                    continue;
                }
                ref QueuedRequest next = ref app.Policy!.Next(w);
                if (Unsafe.IsNullRef(ref next))
                {
                    continue;
                }
                GreenThread ctx = next.Thread ?? Bind(ref next);
                if (ctx.FirstDispatchTicks == 0)
                {
                    ctx.FirstDispatchTicks = now;
                }
                Worker worker = _workers[w];
                ctx.MoveTo(GreenThreadState.AtWorker);
                if (!HandOff(worker.Mailbox, _slots[w].Occupancy, ctx, app.Policy!))
                {
                    MailboxRefused(w);
                    continue;
                }
                _watch.Dispatched(w, ctx);
                _slots[w].Occupancy++;
                Counters.Dispatches++;
                Trace?.Add(ctx.Id, now, TraceEventKind.Dispatch, w);
                if (level == 0)
                {
                    _dryDispatches++;
                    if (MayBeParked(w, now))
                    {
                        worker.CarrierIdle?.WakeIfParked();
                    }
                }
                _slots[w].LastDispatchTicks = now;
                dispatched = true;
            }
        }
        return dispatched;
    }

    /// <summary>
    /// Whether worker <paramref name="w"/>'s carrier may be parked, so that waking it needs the
    /// Dekker fence. A carrier parks only after it has idled for the spin and yield phases, and its
    /// idle period starts after it finished the last request it was handed: within that time of the
    /// last dispatch, it cannot be parked, and the dispatch skips the fence. The IOKernel decides from
    /// its own clock and its own record, reading nothing of the carrier's.
    /// </summary>
    private bool MayBeParked(int w, long now) => !_realTime || now - _slots[w].LastDispatchTicks >= _parkAfterTicks;

    /// <summary>Slack kept below the carriers' spin + yield time, for clock reads taken on two cores.</summary>
    private const double ParkMarginMicros = 50;

    /// <summary>Dispatches to a worker holding nothing: it had run dry (<see cref="IOKernel.ReceiveBudget"/>).</summary>
    private long _dryDispatches;

    private readonly long _parkAfterTicks;
    private readonly bool _realTime;

    /// <summary>Pushes <paramref name="t"/> into a worker's mailbox, which is counted: the IOKernel's
    /// own count of what the worker holds (<paramref name="occupancy"/>) says the next slot is free,
    /// and the push reads nothing of the carrier's. A count at the mailbox's capacity cannot happen
    /// below k; if it ever does (a broken count), the request goes back to the head of its queue, in
    /// Release builds too: a dispatch never loses a request, nor overwrites one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool HandOff(Runtime.Threading.HandoffRing mailbox, int occupancy, GreenThread t, Policies.ISchedulingPolicy policy)
    {
        if ((uint)occupancy < (uint)mailbox.Capacity)
        {
            mailbox.Push(t, t.DispatchTag);
            return true;
        }
        t.MoveTo(GreenThreadState.Queued);
        policy.PutBack(t);
        return false;
    }

    /// <summary>The count of what worker <paramref name="w"/> holds was wrong: it is taken as full until
    /// its completions say otherwise, and the broken invariant is counted.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void MailboxRefused(int w)
    {
        System.Diagnostics.Debug.Fail("a mailbox below k must take a push");
        Counters.MailboxRefusals++;
        _slots[w].Occupancy = _options.MailboxDepth;
    }
}
