// A carrier thread: pinned to one worker core, it runs green threads from its worker's mailbox.
using System.Diagnostics;
using NetStack.Runtime.Threading;

namespace NetStack.Runtime.Scheduling;

/// <summary>
/// One dedicated, pinned thread per worker core. It pops a green thread from its mailbox, runs a
/// slice of it, stamps it and pushes it back to the IOKernel through the completion ring, whatever
/// the slice ended with (completed, yielded, detached). It never allocates on that path.
/// </summary>
public sealed class Carrier
{
    /// <summary>Pushed instead of a detached context, so the IOKernel frees the mailbox slot while
    /// the context itself completes later through its detached path.</summary>
    public static readonly RequestContext DetachedMarker = new();

    private readonly Worker _worker;
    private readonly IdleStrategy _idle;
    private readonly CompletionRecorder? _recorder;
    private readonly ManualResetEventSlim _started = new(false);
    private Thread? _thread;
    private Exception? _startFailure;
    private volatile bool _stop;
    private long _lastSlice;
    private bool _measureNextStart;
    private AllocationMeter _allocations;

    /// <param name="worker">The worker core this carrier runs.</param>
    /// <param name="idle">Its back-off when the mailbox is empty.</param>
    /// <param name="recorder">Where completions are measured (null: not measured).</param>
    public Carrier(Worker worker, IdleStrategyKind idle, CompletionRecorder? recorder,
        double spinMicros = 50, double yieldMicros = 1000, double parkMicros = 1000)
    {
        _worker = worker;
        _recorder = recorder;
        _idle = new IdleStrategy(idle, spinMicros, yieldMicros, parkMicros,
            hasWork: () => !worker.Mailbox.IsEmptyForConsumer());
        worker.CarrierIdle = _idle;
    }

    /// <summary>The worker this carrier runs.</summary>
    public Worker Worker => _worker;

    /// <summary>Slices run.</summary>
    public long Slices { get; private set; }

    /// <summary>Requests completed on this carrier.</summary>
    public long Completed { get; private set; }

    /// <summary>Slices that ended in a yield.</summary>
    public long Yields { get; private set; }

    /// <summary>Slices that ended with the handler awaiting something else.</summary>
    public long Detached { get; private set; }

    /// <summary>Ticks spent inside slices (app work, including checkpoints).</summary>
    public long BusyTicks { get; private set; }

    /// <summary>Bytes this carrier's thread allocated from <see cref="MeasureAllocationsFrom"/> to its stop.</summary>
    public long AllocatedBytes => _allocations.Bytes;

    /// <summary>Count this thread's allocations from this time on (set before <see cref="Start"/>).</summary>
    public long MeasureAllocationsFrom
    {
        get => _allocations.FromTicks;
        set => _allocations.FromTicks = value;
    }

    /// <summary>Starts the thread; returns once it is pinned, or throws why it could not be.</summary>
    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"netstack-carrier-{_worker.Core}" };
        _thread.Start();
        _started.Wait();
        if (_startFailure is not null)
        {
            throw _startFailure;
        }
    }

    /// <summary>Asks the loop to end after its current slice, and waits for it.</summary>
    public void Stop()
    {
        _stop = true;
        _idle.WakeIfParked();
        _thread?.Join();
    }

    private void Run()
    {
        try
        {
            Affinity.PinCurrentThread(_worker.Core);
        }
        catch (Exception e)
        {
            _startFailure = e;
            _started.Set();
            return;
        }
        _started.Set();

        SpscRing<RequestContext> mailbox = _worker.Mailbox;
        while (!_stop)
        {
            if (mailbox.TryPop(out RequestContext? ctx))
            {
                _idle.Reset();
                RunSlice(ctx);
            }
            else
            {
                _idle.Idle();
            }
        }
        _allocations.Stop();
    }

    private void RunSlice(RequestContext ctx)
    {
        long start = Clock.Now();
        // Slice ids are their start ticks, made strictly increasing: a preemption meant for an
        // earlier slice must never match this one.
        if (start <= _lastSlice)
        {
            start = _lastSlice + 1;
        }
        _lastSlice = start;
        _allocations.Tick(start);
        if (_measureNextStart)
        {
            _measureNextStart = false;
            _recorder?.RecordPreemptionLatency(start - _worker.Preemption.WrittenAtTicks);
        }

        _worker.SetRunningSlice(start);
        SliceOutcome outcome = ctx.RunSlice(_worker.Preemption, start);
        long end = Clock.Now();
        _worker.SetRunningSlice(0);

        Slices++;
        BusyTicks += end - start;
        RequestContext toIOKernel = ctx;
        switch (outcome)
        {
            case SliceOutcome.Completed:
                ctx.ServiceTicks += end - start;
                ctx.CompletionTicks = end;
                Completed++;
                _recorder?.RecordCompletion(ctx);
                break;
            case SliceOutcome.Yielded:
                ctx.ServiceTicks += end - start;
                ctx.Preemptions++;
                ctx.LastPreemptionTicks = end;
                Yields++;
                _measureNextStart = _worker.Preemption.Reason == YieldReason.Quantum;
                break;
            default:
                // The context may complete on another thread at any moment: touch it no more.
                Detached++;
                toIOKernel = DetachedMarker;
                break;
        }
        if (outcome != SliceOutcome.Detached)
        {
            ctx.Outcome = outcome;
        }
        if (!_worker.Completions.TryPush(toIOKernel))
        {
            PushSlow(toIOKernel);
        }
    }

    private void PushSlow(RequestContext ctx)
    {
        // Cannot happen while the IOKernel keeps at most k contexts at this worker; if it ever
        // does, waiting is right: dropping would lose a request.
        Debug.Fail("completion ring full");
        var spin = new SpinWait();
        while (!_worker.Completions.TryPush(ctx))
        {
            spin.SpinOnce();
        }
    }
}
