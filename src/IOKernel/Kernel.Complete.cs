// Stage 5, complete: green threads come back from workers; finished ones are answered, yielded ones requeued.
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime;
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
            // Everything the worker has pushed is taken first and its lines asked for at once: each
            // green thread's first read below misses on lines the carrier wrote, and k misses issued
            // together cost about one round trip, where k issued one after another cost k.
            int n = 0;
            while (n < _completed.Length && completions.TryPop(out GreenThread? popped))
            {
                _completed[n++] = popped;
                CacheLine.Prefetch(popped, GreenThread.FirstReadLines);
            }
            for (int i = 0; i < n; i++)
            {
                GreenThread ctx = _completed[i];
                any = true;
                _slots[w].Occupancy--;
                if (ctx.Outcome != SliceOutcome.Returned || ReferenceEquals(ctx, Carrier.DetachedMarker))
                {
                    _slots[w].SlicesEnded++; // every push but a hand-back ends a slice
                }
                RetireFromWorker(w);
                if (ReferenceEquals(ctx, Carrier.DetachedMarker))
                {
                    continue; // the context itself comes back through the detached queue
                }
                switch (ctx.Outcome)
                {
                    case SliceOutcome.Yielded when _shuttingDown:
                    case SliceOutcome.Returned when _shuttingDown:
                        // The drain is over: a request that has not finished will not run again.
                        ctx.MoveTo(GreenThreadState.Queued);
                        Refuse(ctx);
                        break;
                    case SliceOutcome.Yielded:
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
                        Answer(ctx, w);
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
    private readonly GreenThread[] _completed = new GreenThread[2 * KernelOptions.MaxMailboxDepth];

    /// <summary>The oldest request at worker <paramref name="w"/> came back: a stuck slice has returned.</summary>
    private void RetireFromWorker(int w)
    {
        if (_watch.IsStuck(w) && !_watch.IsStuckInBatch(w) && _watch.Running(w) is not null)
        {
            Recover(w, WatchdogEventKind.SliceRecovered);
        }
        _watch.Retire(w);
    }

    private bool CompleteDetached()
    {
        bool any = false;
        while (_detached.TryDequeue(out GreenThread? ctx))
        {
            any = true;
            Counters.DetachedCompletions++;
            _ownRecorder?.RecordCompletion(ctx);
            Answer(ctx, -1);
        }
        return any;
    }

    private void Answer(GreenThread ctx, int worker)
    {
        Counters.Completed++;
        if (ctx.Status == RequestStatus.Error)
        {
            Counters.Errors++;
        }
        Trace?.Add(ctx.Id, ctx.CompletionTicks, TraceEventKind.Complete, worker);
        // The NIC sends the reply in its turn and gives the green thread back (INicHost.Recycle).
        _transmitted++;
        _nics[ctx.Nic].Transmit(ctx);
    }
}
