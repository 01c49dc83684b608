// A carrier thread: pinned to one worker core, it runs whichever app owns the core: green threads or batch slices.
using NetStack.Runtime.Threading;

namespace NetStack.Runtime.Scheduling;

/// <summary>
/// One dedicated, pinned thread per worker core. It follows the worker's assignment word: while a
/// latency-critical app owns the core it pops green threads from the mailbox, runs a slice of each
/// and pushes it back through the completion ring, whatever the slice ended with; while the batch
/// app owns it, it runs the batch job until the assignment changes. Moving the core between apps
/// is therefore a handoff on this same thread (no wake-up, no syscall). It parks only when no app
/// owns the core, and never allocates on the request path.
/// </summary>
internal sealed class Carrier
{
    /// <summary>Pushed instead of a detached context, so the IOKernel frees the mailbox slot while
    /// the context itself completes later through its detached path.</summary>
    public static readonly GreenThread DetachedMarker = GreenThreadRegistry.Marker;

    private readonly Worker _worker;
    private readonly IdleStrategy _idle;
    private readonly CompletionRecorder? _recorder;
    private readonly IReadOnlyList<IBatchJob?> _batchJobs;
    private readonly BatchContext _batchContext;
    private readonly ManualResetEventSlim _started = new(false);
    private readonly StallWatch? _stalls;
    private Thread? _thread;
    private Exception? _startFailure;
    private volatile bool _stop;
    private long _lastSlice;
    private long _seenEpoch;
    private bool _measureNextStart;
    private AllocationMeter _allocations;

    /// <param name="worker">The worker core this carrier runs.</param>
    /// <param name="idle">Its back-off when it finds nothing to run.</param>
    /// <param name="recorder">Where completions are measured (null: not measured).</param>
    /// <param name="spinMicros">Idle spin phase.</param>
    /// <param name="yieldMicros">Idle yield phase.</param>
    /// <param name="parkMicros">One park's length.</param>
    /// <param name="batchJobs">The batch job of each app id (null for latency-critical apps); none by default.</param>
    /// <param name="stalls">Where this carrier logs the machine's stalls it sees (null: not watched).</param>
    public Carrier(Worker worker, IdleStrategyKind idle, CompletionRecorder? recorder,
        double spinMicros = 50, double yieldMicros = 1000, double parkMicros = 1000, IReadOnlyList<IBatchJob?>? batchJobs = null,
        StallLog? stalls = null)
    {
        _stalls = stalls?.Watch(worker.Core, StallSource.Carrier);
        _worker = worker;
        _recorder = recorder;
        _batchJobs = batchJobs ?? [];
        _batchContext = new BatchContext(worker);
        _idle = new IdleStrategy(idle, spinMicros, yieldMicros, parkMicros,
            hasWork: () => !worker.Mailbox.IsEmptyForConsumer() || worker.AssignmentEpoch != _seenEpoch || _stop);
        worker.CarrierIdle = _idle;
    }

    /// <summary>The worker this carrier runs.</summary>
    public Worker Worker => _worker;

    /// <summary>The batch app's progress on this worker.</summary>
    public BatchContext Batch => _batchContext;

    /// <summary>Green-thread slices run.</summary>
    public long Slices { get; private set; }

    /// <summary>Requests completed on this carrier.</summary>
    public long Completed { get; private set; }

    /// <summary>Slices that ended in a yield.</summary>
    public long Yields { get; private set; }

    /// <summary>Of <see cref="Yields"/>, those the worker decided itself (its quantum over, a request in its
    /// mailbox) before the IOKernel asked; a yield the IOKernel asked for afterwards as well counts as asked.</summary>
    public long SelfYields { get; private set; }

    /// <summary>Of <see cref="Yields"/>, those whose request the carrier kept (<see cref="Worker.HoldsYielded"/>).</summary>
    public long Holds { get; private set; }

    /// <summary>Yielded requests kept here and handed back unfinished, at a change of owner or at stop.</summary>
    public long HeldHandedBack { get; private set; }

    private GreenThread? _held;
    private bool _heldNext; // a mailbox request ran since the hold: the held one goes next

    /// <summary>Slices that ended with the handler awaiting something else.</summary>
    public long Detached { get; private set; }

    /// <summary>Requests handed back unrun when the core left their app.</summary>
    public long Returned { get; private set; }

    /// <summary>Ticks spent inside green-thread slices (LC app work, checkpoints included).</summary>
    public long BusyTicks { get; private set; }

    /// <summary>Ticks spent inside the batch job.</summary>
    public long BatchTicks { get; private set; }

    /// <summary>The part of <see cref="BusyTicks"/> inside the measured window
    /// [<see cref="MeasureAllocationsFrom"/>, <see cref="MeasureUntil"/>).</summary>
    public long BusyTicksInWindow { get; private set; }

    /// <summary>The part of <see cref="BatchTicks"/> inside the measured window.</summary>
    public long BatchTicksInWindow { get; private set; }

    /// <summary>Times the batch job threw (the carrier keeps going).</summary>
    public long BatchFailures { get; private set; }

    /// <summary>Bytes this carrier's thread allocated from <see cref="MeasureAllocationsFrom"/> to
    /// <see cref="MeasureUntil"/> (or its stop, if earlier).</summary>
    public long AllocatedBytes => _allocations.Bytes;

    /// <summary>Of <see cref="AllocatedBytes"/>, pool growth (<see cref="PoolGrowth"/>).</summary>
    public long AllocatedGrowthBytes => _allocations.GrowthBytes;

    /// <summary>The end of the measured window (0: none; set before <see cref="Start"/>): allocations
    /// stop being counted here, and the in-window busy and batch times stop growing.</summary>
    public long MeasureUntil
    {
        get => _allocations.UntilTicks;
        set => _allocations.UntilTicks = value;
    }

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

    /// <summary>Asks the loop to end after its current slice (a batch slice ends at its next
    /// yield check). Call it from the thread that owns the assignment word.</summary>
    public void RequestStop()
    {
        _stop = true;
        _worker.Assign(Worker.NoApp);
        _idle.WakeIfParked();
    }

    /// <summary>Waits up to <paramref name="bound"/> for the loop to end. False when it did not: the
    /// carrier is inside a handler or a batch job that does not reach its next check (a thread cannot
    /// be aborted in .NET, so it is left running and named; it is a background thread).</summary>
    public bool Join(TimeSpan bound) => _thread is null || _thread.Join(bound);

    /// <summary>True once the loop has ended.</summary>
    public bool Stopped => _thread is null || !_thread.IsAlive;

    /// <summary>Asks the loop to end and waits for it, without bound (tests, in-process runs).</summary>
    public void Stop()
    {
        RequestStop();
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
        _stalls?.Install(Clock.Now());

        HandoffRing mailbox = _worker.Mailbox;
        int app = Worker.NoApp;
        IBatchJob? batch = null;
        long idleSince = 0;
        while (!_stop)
        {
            long epoch = _worker.AssignmentEpoch;
            if (epoch != _seenEpoch)
            {
                int next = _worker.AssignedApp;
                bool wasLatencyCritical = app != Worker.NoApp && batch is null;
                if (wasLatencyCritical && next != app)
                {
                    HandBackHeld();
                    HandBackMailbox();
                }
                app = next;
                batch = app >= 0 && app < _batchJobs.Count ? _batchJobs[app] : null;
                _seenEpoch = epoch;
                idleSince = 0;
                _worker.SetIdleSince(0);
                _worker.AcknowledgeAssignment(epoch, Clock.Now());
                _idle.Reset();
            }

            if (batch is not null)
            {
                RunBatch(batch, epoch);
            }
            else if (app != Worker.NoApp && _held is { } held && (_heldNext || mailbox.IsEmptyForConsumer()))
            {
                // With _heldNext, the request it yielded for has run; one more waiting means more than that
                // one wait, so the kept request goes to the queue's tail through the IOKernel, as any yield
                // does, and they go first. (Without it, the mailbox was just found empty.)
                if (_heldNext && !mailbox.IsEmptyForConsumer())
                {
                    HandBackHeld();
                    continue;
                }
                _held = null;
                _heldNext = false;
                RunSlice(held);
            }
            else if (app != Worker.NoApp && mailbox.TryPop(out GreenThread? ctx, out byte tag))
            {
                if (idleSince != 0)
                {
                    idleSince = 0;
                    _worker.SetIdleSince(0);
                }
                _idle.Reset();
                if (mailbox.TryPeek(out GreenThread? next))
                {
                    // The next request's lines, written by the IOKernel, come in while this one runs.
                    CacheLine.Prefetch(next, GreenThread.FirstReadLines);
                }
                if (tag == DispatchTag.Fresh)
                {
                    ctx.BeginOnCarrier(); // the last request's carrier fields, cleared on this core
                }
                bool holding = _held is not null;
                RunSlice(ctx);
                _heldNext |= holding;
            }
            else
            {
                if (app != Worker.NoApp && idleSince == 0)
                {
                    // Published once per idle period, not per poll: the IOKernel reads it to decide
                    // whether the core can go to batch.
                    idleSince = Clock.Now();
                    _worker.SetIdleSince(idleSince);
                }
                WatchIdle();
            }
        }
        if (app != Worker.NoApp && batch is null)
        {
            HandBackHeld();
            HandBackMailbox();
        }
        _allocations.Stop();
    }

    /// <summary>One idle poll: the gap since the last one is a stall if it is long, unless we parked.</summary>
    private void WatchIdle()
    {
        long now = Clock.Now();
        // An idle carrier runs no slice to tick its meter: it must still stop at the window's end.
        _allocations.Tick(now);
        if (_stalls is null)
        {
            _idle.Idle();
            return;
        }
        _stalls.Observe(now);
        if (_idle.Idle())
        {
            _stalls.Restart(Clock.Now());
        }
    }

    /// <summary>How much of [<paramref name="start"/>, <paramref name="end"/>) lies in the measured window.</summary>
    private long InWindow(long start, long end)
    {
        long until = _allocations.UntilTicks == 0 ? long.MaxValue : _allocations.UntilTicks;
        return Math.Max(0, Math.Min(end, until) - Math.Max(start, _allocations.FromTicks));
    }

    private void RunSlice(GreenThread ctx)
    {
        long start = NextSliceId();
        // The gap before the slice (mailbox pop, the previous slice's push) is the carrier's own
        // time; inside it, only a handler that reads the clock can tell (StallWatch.ObserveInHandler).
        _stalls?.Observe(start);
        _allocations.Tick(start);
        if (_measureNextStart)
        {
            _measureNextStart = false;
            _recorder?.RecordPreemptionLatency(start - _worker.Preemption.WrittenAtTicks);
        }

        _worker.StartSlice(start);
        SliceOutcome outcome = ctx.RunSlice(_worker.Preemption, start, _worker.Mailbox);
        long end = Clock.Now();
        _stalls?.Restart(end);

        Slices++;
        BusyTicks += end - start;
        BusyTicksInWindow += InWindow(start, end);
        GreenThread toIOKernel = ctx;
        RequestStatus status = RequestStatus.Ok;
        bool segments = false; // only a completion's word settles it (GreenThread.CameBack)
        CompletionStamps completed = default;
        switch (outcome)
        {
            case SliceOutcome.Completed:
                ctx.ServiceTicks += end - start;
                ctx.CompletionTicks = end;
                // The header (timings, status) is written here, in parallel across workers, not on the IOKernel.
                ctx.FinishReply();
                if (ctx.ReplySender is { } sender && _worker.Mailbox.IsEmptyForConsumer())
                {
                    // Only with nothing waiting here: a request in the mailbox runs first, and the IOKernel
                    // writes this reply meanwhile, beside others in one call. Before the push: once pushed,
                    // the request and its connection's head are the IOKernel's.
                    // Counted by the NIC (TcpCounters.WorkerSends) when the IOKernel takes the completion.
                    ctx.SentOnWorker = sender.TrySend(ctx);
                }
                status = ctx.Status;
                segments = ctx.ReplyHasSegments;
                Completed++;
                if (_recorder is not null)
                {
                    // Copied now: once pushed, the IOKernel owns the request and may recycle it.
                    completed = CompletionStamps.Of(ctx);
                }
                break;
            case SliceOutcome.Yielded:
                ctx.ServiceTicks += end - start;
                ctx.Preemptions++;
                ctx.LastPreemptionTicks = end;
                Yields++;
                bool asked = Volatile.Read(ref _worker.Preemption.Line.Slice) == start;
                if (asked)
                {
                    _measureNextStart = _worker.Preemption.Reason == YieldReason.Quantum;
                }
                else
                {
                    SelfYields++; // the worker-side quantum check: no IOKernel write to measure from
                }
                // A quantum's yield with a request waiting in the mailbox is kept here, to resume right
                // after that request, when the IOKernel has taken every earlier word (so the ring's k + 1
                // slots hold what can follow) and the core stays. Work waiting only in the central queue
                // (an empty mailbox) or a core taken away goes through the IOKernel as before.
                if (_worker.HoldsYielded && _held is null && !_stop && (!asked || _worker.Preemption.Reason == YieldReason.Quantum)
                    && !_worker.Mailbox.IsEmptyForConsumer() && _worker.Completions.Count == 0 && _worker.AssignmentEpoch == _seenEpoch)
                {
                    _held = ctx;
                    _heldNext = false;
                    Holds++;
                    outcome = SliceOutcome.Held;
                }
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
        // The word says how the slice ended: the IOKernel reads none of the lines written here.
        Push(toIOKernel, CompletionTag.Of(outcome, status, segments));
        if (outcome == SliceOutcome.Completed)
        {
            // After the push: the histograms' cache misses no longer delay the reply.
            _recorder?.RecordCompletion(in completed);
        }
    }

    private void RunBatch(IBatchJob job, long epoch)
    {
        _batchContext.Begin(epoch);
        long start = Clock.Now();
        try
        {
            job.Run(_batchContext);
        }
        catch (Exception)
        {
            // A failing batch job must not take the core (or the LC app on it) down with it.
            BatchFailures++;
        }
        long end = Clock.Now();
        BatchTicks += end - start;
        BatchTicksInWindow += InWindow(start, end);
        _stalls?.Restart(end);
        if (!_batchContext.ShouldYield)
        {
            WatchIdle(); // the job returned on its own: nothing to do until the owner changes
        }
    }

    /// <summary>The request kept after a yield goes back to the IOKernel unfinished (<see cref="SliceOutcome.Released"/>:
    /// it ends no slice, its last slice's end was pushed when it was kept) and is queued there again.</summary>
    private void HandBackHeld()
    {
        if (_held is not { } held)
        {
            return;
        }
        _held = null;
        _heldNext = false;
        HeldHandedBack++;
        held.Outcome = SliceOutcome.Released;
        Push(held, CompletionTag.Of(SliceOutcome.Released, RequestStatus.Ok, replyHasSegments: false));
    }

    /// <summary>The core left its latency-critical app: requests dispatched here but not started go back.</summary>
    private void HandBackMailbox()
    {
        // At stop, the IOKernel may have given up on this carrier (stuck in a handler past the bound)
        // and refused the mailbox's requests itself: then they are not ours to hand back.
        if (_stop && Interlocked.CompareExchange(ref _worker.MailboxClaim, Worker.ClaimedByCarrier, 0) == Worker.ClaimedByIOKernel)
        {
            return;
        }
        while (_worker.Mailbox.TryPop(out GreenThread? ctx))
        {
            ctx.Outcome = SliceOutcome.Returned;
            Returned++;
            Push(ctx, CompletionTag.Of(SliceOutcome.Returned, RequestStatus.Ok, replyHasSegments: false));
        }
    }

    private long NextSliceId()
    {
        long start = Clock.Now();
        // Slice ids are their start ticks, made strictly increasing: a preemption meant for an
        // earlier slice must never match this one.
        if (start <= _lastSlice)
        {
            start = _lastSlice + 1;
        }
        _lastSlice = start;
        return start;
    }

    /// <summary>A completion, into a counted ring: one per request popped, and at most k held, so the
    /// slot is free (<see cref="HandoffRing"/>).</summary>
    private void Push(GreenThread ctx, byte tag) => _worker.Completions.Push(ctx, tag);
}
