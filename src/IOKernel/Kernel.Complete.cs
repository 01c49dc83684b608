// Stage 5, complete: green threads come back from workers; finished ones are answered, yielded ones requeued.
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

internal sealed partial class Kernel
{
    private bool Complete(long now)
    {
        bool any = false;
        for (int w = 0; w < _workers.Length; w++)
        {
            var completions = _workers[w].Completions;
            // Everything the worker has pushed is taken first, then handled: each word says how its
            // slice ended, so the loop below reads none of the lines the carrier wrote.
            // The batch keeps registry indexes, not references: a reference stored into an array is
            // a GC write barrier per request.
            int n = 0;
            while (n < _completed.Length && completions.TryPopIndex(out int popped, out byte tag))
            {
                _completed[n] = popped;
                _completedTags[n++] = tag;
                if (popped != Runtime.Threading.GreenThreadRegistry.MarkerIndex)
                {
                    _pool.Registry[popped].PrefetchForRecycle(); // the lines its return writes, all asked for at once
                }
            }
            for (int i = 0; i < n; i++)
            {
                int index = _completed[i];
                byte tag = _completedTags[i];
                SliceOutcome outcome = CompletionTag.Outcome(tag);
                bool detached = index == Runtime.Threading.GreenThreadRegistry.MarkerIndex;
                GreenThread ctx = _pool.Registry[index];
                any = true;
                if (outcome == SliceOutcome.Held)
                {
                    // The worker kept the request it yielded: its slice ended, and it is still there.
                    _slots[w].SlicesEnded++;
                    Counters.Holds++;
                    continue;
                }
                _slots[w].Occupancy--;
                if ((outcome != SliceOutcome.Returned && outcome != SliceOutcome.Released) || detached)
                {
                    _slots[w].SlicesEnded++; // every push but a hand-back ends a slice
                }
                RetireFromWorker(w, detached ? null : ctx);
                if (detached)
                {
                    continue; // the context itself comes back through the detached queue
                }
                ctx.CameBack(tag);
                switch (outcome)
                {
                    case SliceOutcome.Yielded when _shuttingDown:
                    case SliceOutcome.Released when _shuttingDown:
                    case SliceOutcome.Returned when _shuttingDown:
                        // The drain is over: a request that has not finished will not run again.
                        ctx.MoveTo(GreenThreadState.Queued);
                        Refuse(ctx);
                        break;
                    case SliceOutcome.Yielded:
                    case SliceOutcome.Released: // kept by its worker after a yield, handed back unfinished
                        Counters.Requeues++;
                        Trace?.Add(ctx.Id, ctx.LastPreemptionTicks, TraceEventKind.Preempt, w);
                        ctx.QueuedTicks = now;
                        ctx.MoveTo(GreenThreadState.Queued);
                        _apps[ctx.AppId].Policy!.Requeue(ctx);
                        break;
                    case SliceOutcome.Returned:
                        Counters.PutBacks++;
                        ctx.MoveTo(GreenThreadState.Queued);
                        _apps[ctx.AppId].Policy!.PutBack(ctx);
                        break;
                    default:
                        Answer(ctx, CompletionTag.Status(tag), w);
                        break;
                }
            }
        }
        if (!_detached.IsEmpty)
        {
            any |= CompleteDetached();
        }
        return any;
    }

    /// <summary>What one worker pushed, taken before it is handled (at most k, plus a detached marker per slot).</summary>
    private readonly int[] _completed = new int[2 * KernelOptions.MaxMailboxDepth];
    private readonly byte[] _completedTags = new byte[2 * KernelOptions.MaxMailboxDepth];

    /// <summary>Request <paramref name="t"/> (null: the oldest) at worker <paramref name="w"/> came back: a stuck slice has returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RetireFromWorker(int w, GreenThread? t)
    {
        if (_watch.IsStuck(w) && !_watch.IsStuckInBatch(w) && _watch.Running(w) is not null)
        {
            Recover(w, WatchdogEventKind.SliceRecovered);
        }
        _watch.Retire(w, t);
    }

    private bool CompleteDetached()
    {
        bool any = false;
        while (_detached.TryDequeue(out GreenThread? ctx))
        {
            any = true;
            Counters.DetachedCompletions++;
            ctx.CameBackDetached();
            _ownRecorder?.RecordCompletion(ctx);
            Answer(ctx, ctx.Status, -1);
        }
        return any;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Answer(GreenThread ctx, RequestStatus status, int worker)
    {
        Counters.Completed++;
        if (status == RequestStatus.Error)
        {
            Counters.Errors++;
        }
        Trace?.Add(ctx.Id, ctx.CompletionTicks, TraceEventKind.Complete, worker);
        // The NIC sends the reply in its turn and gives the green thread back (INicHost.Recycle).
        _transmitted++;
        _nics[ctx.Nic].Transmit(ctx);
    }
}
