// The IOKernel: one pinned thread whose loop is the table of contents of the data path.
using System.Collections.Concurrent;
using NetStack.IOKernel.Allocation;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel;

/// <summary>
/// The dispatcher core. One dedicated thread, pinned to its core, polls the NIC queues and moves
/// requests through six stages, each in its own file:
/// <list type="number">
/// <item><see cref="RxBurst(long)"/> (Kernel.Rx.cs): takes a burst of requests from each NIC queue;</item>
/// <item><see cref="Steer"/> (Kernel.Steer.cs): gives each a green thread and queues it with its app's policy;</item>
/// <item><see cref="Dispatch(long)"/> (Kernel.Dispatch.cs): hands queued green threads to the mailboxes of the app's workers (JBSQ);</item>
/// <item><see cref="Preempt"/> (Kernel.Preempt.cs): writes the preemption word of workers whose slice ran past the quantum;</item>
/// <item><see cref="Complete"/> (Kernel.Complete.cs): takes back completed or yielded green threads, answers and requeues;</item>
/// <item><see cref="AdjustCores"/> (Kernel.AdjustCores.cs): every 5 µs, grants cores to congested apps and lends idle ones to batch.</item>
/// </list>
/// then sends what was answered (<see cref="INicQueue.TxBurst"/>). It never runs app code, and it
/// backs off through its idle strategy when a whole loop found nothing.
/// </summary>
internal sealed partial class Kernel : INicHost
{
    private readonly KernelOptions _options;
    private readonly INicQueue[] _nics;
    private readonly TimeSource _time;
    private readonly KernelApp[] _apps;
    private readonly Worker[] _workers;
    private readonly Carrier[] _carriers;
    private readonly GreenThreadPool _pool;
    private readonly ReplySegmentPool _replySegments;
    private readonly Arrival[] _rxBatch;
    private readonly WorkerSlot[] _slots;
    private readonly ConcurrentQueue<GreenThread> _detached = new();
    private readonly CompletionRecorder? _ownRecorder;
    private readonly IdleStrategy _idle;
    private readonly ManualResetEventSlim _started = new(false);
    private readonly ManualResetEventSlim _exited = new(false);
    private Thread? _thread;
    private Exception? _fault;
    private volatile bool _stopRequested;
    private long _drainDeadline;
    private AllocationMeter _allocations;
    private readonly StallWatch _stallWatch;

    /// <summary>One latency-critical app on every worker core, statically: the scheduler alone.</summary>
    /// <param name="options">Cores, policy, quantum, mailbox depth, idle strategies (validated here).</param>
    /// <param name="nic">The NIC queue to poll.</param>
    /// <param name="handler">The app's handler.</param>
    /// <param name="recorderFactory">Makes one recorder per carrier and one for the IOKernel's own
    /// (detached) completions; null: nothing is measured.</param>
    /// <param name="time">The loop's clock (tests may drive it).</param>
    public Kernel(KernelOptions options, INicQueue nic, IRequestHandler handler,
        Func<CompletionRecorder>? recorderFactory = null, TimeSource? time = null)
        : this(WithStaticAllocation(options), nic,
            [AppRegistration.LatencyCritical(new AppOptions
            {
                Name = "app",
                GuaranteedCores = options.WorkerCores.Length,
                MaxCores = options.WorkerCores.Length,
            }, handler)],
            recorderFactory, time)
    {
    }

    /// <summary>Several apps sharing the worker cores, fed by one NIC queue.</summary>
    public Kernel(KernelOptions options, INicQueue nic, IReadOnlyList<AppRegistration> apps,
        Func<CompletionRecorder>? recorderFactory = null, TimeSource? time = null)
        : this(options, [nic], apps, recorderFactory, time)
    {
    }

    /// <summary>Several apps, latency-critical and batch, sharing the worker cores.</summary>
    /// <param name="options">Cores, allocation policy, intervals, idle strategies (validated here).</param>
    /// <param name="nics">The NIC queues to poll (UDP, TCP, synthetic); each arrival names its app.</param>
    /// <param name="apps">The apps; their index is their id.</param>
    /// <param name="recorderFactory">As above.</param>
    /// <param name="time">The loop's clock.</param>
    public Kernel(KernelOptions options, IReadOnlyList<INicQueue> nics, IReadOnlyList<AppRegistration> apps,
        Func<CompletionRecorder>? recorderFactory = null, TimeSource? time = null)
    {
        options.Validate();
        if (apps.Count == 0)
        {
            throw new ArgumentException("at least one app is needed");
        }
        foreach (AppRegistration app in apps)
        {
            app.Options.Validate();
            if (options.CoreAllocation == "static" && app.Options.Priority == AppPriority.LatencyCritical && app.Options.GuaranteedCores < 1)
            {
                throw new ArgumentException(
                    $"app {app.Options.Name}: under static allocation a latency-critical app holds only its guaranteed cores; set GuaranteedCores to at least 1");
            }
        }
        if (nics.Count == 0)
        {
            throw new ArgumentException("at least one NIC queue is needed");
        }
        _options = options;
        _nics = [.. nics];
        _time = time ?? TimeSource.System;
        int workers = options.WorkerCores.Length;
        _apps = apps.Select((a, i) => new KernelApp(i, a, workers, options)).ToArray();
        IBatchJob?[] jobs = _apps.Select(a => a.Job).ToArray();

        Stalls = new StallLog(options.StallThresholdMicros, options.StallLogCapacity);
        _stallWatch = Stalls.Watch(options.IOKernelCore, StallSource.IOKernel);
        _intervalTicks = Clock.FromMicros(options.CongestionIntervalMicros);
        _allocator = new CoreAllocator(AllocationCatalog.Create(options.CoreAllocation, options.QueueDelayMicros, apps.Count),
            Clock.FromMicros(options.ReleaseIdleMicros), apps.Count, Clock.FromMicros(options.ShareMicros));
        _appViews = new AppView[_apps.Length];
        _workerViews = new WorkerView[workers];
        _moves = new CoreMove[2 * workers + _apps.Length];
        _slots = new WorkerSlot[workers];
        FillAppViews(0);
        int[] initialOwners = new int[workers];
        _allocator.InitialAssignment(_appViews, initialOwners);
        for (int w = 0; w < workers; w++)
        {
            _slots[w].Owner = initialOwners[w];
        }
        _ownedScratch = new int[workers];
        foreach (KernelApp app in _apps)
        {
            TellOwners(app.Id);
        }
        AllocationLog = new AllocationLog(options.AllocationLogCapacity);
        _watchBoundTicks = Clock.FromMicros(options.WatchdogMillis * 1000);
        _watchIntervalTicks = Clock.FromMicros(Math.Min(1000, options.WatchdogMillis * 100));

        int lcApps = _apps.Count(a => a.IsLatencyCritical);
        // Every admitted request holds a green thread until its reply is out: each app's queue bound,
        // what the workers can hold, and the replies NICs may hold while they wait to be sent (slow
        // readers), so a full queue, not an empty pool, is what turns requests away at moderate backlogs.
        _replySegments = new ReplySegmentPool((long)options.ReplyPoolMegabytes << 20);
        _pool = new GreenThreadPool(lcApps * options.QueueCapacity + workers * options.MailboxDepth + options.ReplyBacklog,
            options.InlineReplyBytes, _replySegments, _detached.Enqueue);
        _watch = new SliceWatchdog(workers, options.MailboxDepth, _pool.Registry);

        _workers = new Worker[workers];
        _carriers = new Carrier[workers];
        var recorders = new List<CompletionRecorder>();
        for (int w = 0; w < workers; w++)
        {
            _workers[w] = new Worker(w, options.WorkerCores[w], options.MailboxDepth, _pool.Registry, _slots[w].Owner,
                holdsYielded: options.WorkerQuantumCheck && options.WorkerHoldsYielded);
            if (_slots[w].Owner >= 0)
            {
                _apps[_slots[w].Owner].Cores++;
            }
            _slots[w].GrantEpoch = _workers[w].AssignmentEpoch;
            _slots[w].GrantEvent = AllocationLog.Add(0, new CoreMove(w, Worker.NoApp, _slots[w].Owner, AllocationReason.Initial));
            CompletionRecorder? recorder = recorderFactory?.Invoke();
            if (recorder is not null)
            {
                recorders.Add(recorder);
            }
            _carriers[w] = new Carrier(_workers[w], options.CarrierIdle, recorder,
                options.IdleSpinMicros, options.IdleYieldMicros, options.IdleParkMicros, jobs, Stalls);
        }
        _ownRecorder = recorderFactory?.Invoke();
        if (_ownRecorder is not null)
        {
            recorders.Add(_ownRecorder);
        }
        Recorders = recorders;
        foreach (INicQueue nic in _nics)
        {
            nic.Attach(this);
        }
        _rxBatch = new Arrival[options.RxBatch];
        _longQueue = ReceiveBudget.LongQueue(options.QueueCapacity, options.RxBatch);
        _parkAfterTicks = Clock.FromMicros(Math.Max(0, options.IdleSpinMicros + options.IdleYieldMicros - ParkMarginMicros));
        _realTime = ReferenceEquals(_time, TimeSource.System);
        _idle = new IdleStrategy(options.IOKernelIdle, options.IdleSpinMicros, options.IdleYieldMicros, options.IdleParkMicros,
            busyYieldMicros: options.IOKernelBusyYieldMicros);
        Trace = options.TraceCapacity > 0 ? new RequestTrace(options.TraceCapacity) : null;
    }

    /// <summary>What the IOKernel counted (exact once it has stopped; a snapshot while it runs).</summary>
    public KernelCounters Counters { get; } = new();

    /// <summary>The recorders, one per carrier, then the IOKernel's own.</summary>
    public IReadOnlyList<CompletionRecorder> Recorders { get; }

    /// <summary>The apps, by id.</summary>
    public IReadOnlyList<KernelApp> Apps => _apps;

    /// <summary>The carriers.</summary>
    public IReadOnlyList<Carrier> Carriers => _carriers;

    /// <summary>The workers.</summary>
    public IReadOnlyList<Worker> Workers => _workers;

    /// <summary>The first latency-critical app's policy (the single-app case).</summary>
    public Policies.ISchedulingPolicy Policy => _apps.First(a => a.IsLatencyCritical).Policy!;

    /// <summary>Times the IOKernel offered its core while it had work (<see cref="KernelOptions.IOKernelBusyYieldMicros"/>).</summary>
    public long BusyYields => _idle.BusyYields;

    /// <summary>The per-request event log, when configured.</summary>
    public RequestTrace? Trace { get; }

    /// <summary>The machine's stalls as the IOKernel, the carriers and the handlers that read the clock saw them.</summary>
    public StallLog Stalls { get; }

    /// <summary>Every core move, with its latency.</summary>
    public AllocationLog AllocationLog { get; }

    /// <summary>The allocation rules in force.</summary>
    public CoreAllocator Allocator => _allocator;

    /// <summary>The app each worker core is assigned to now (IOKernel's view; a snapshot while it runs).</summary>
    public int OwnerOf(int worker) => Volatile.Read(ref _slots[worker].Owner);

    /// <summary>Requests admitted and not yet answered.</summary>
    public int InFlight => _pool.InUse;

    /// <summary>Green threads made so far: the most ever bound at once (queued requests hold none),
    /// in chunks of the pool's growth.</summary>
    public int GreenThreadsMade => _pool.Created;

    /// <summary>When set, the IOKernel stops by itself once its NIC queue is exhausted and every
    /// admitted request is answered (in-process runs over the synthetic NIC).</summary>
    public bool StopWhenExhausted { get; init; }

    /// <summary>Count the data path's allocations (IOKernel and carrier threads) from this time on;
    /// set before <see cref="Start"/>.</summary>
    public long MeasureAllocationsFrom
    {
        get => _allocations.FromTicks;
        set
        {
            _allocations.FromTicks = value;
            foreach (Carrier carrier in _carriers)
            {
                carrier.MeasureAllocationsFrom = value;
            }
        }
    }

    /// <summary>The end of the measured window (0: none; set before <see cref="Start"/>): the data
    /// path's allocations are counted from <see cref="MeasureAllocationsFrom"/> to here, and the
    /// carriers' in-window busy and batch times cover the same stretch.</summary>
    public long MeasureUntil
    {
        get => _allocations.UntilTicks;
        set
        {
            _allocations.UntilTicks = value;
            foreach (Carrier carrier in _carriers)
            {
                carrier.MeasureUntil = value;
            }
        }
    }

    /// <summary>Bytes the IOKernel and carrier threads allocated from <see cref="MeasureAllocationsFrom"/>
    /// to <see cref="MeasureUntil"/>, or until they stopped (read after the kernel stopped).</summary>
    public long DataPathAllocatedBytes => _allocations.Bytes + _carriers.Sum(c => c.AllocatedBytes);

    /// <summary>Of <see cref="DataPathAllocatedBytes"/>, the bytes of pools growing past their high-water
    /// mark (<see cref="PoolGrowth"/>).</summary>
    public long DataPathPoolGrowthBytes => _allocations.GrowthBytes + _carriers.Sum(c => c.AllocatedGrowthBytes);

    /// <summary>Of <see cref="DataPathAllocatedBytes"/>, the IOKernel thread's (the rest are the carriers').</summary>
    public long IOKernelAllocatedBytes => _allocations.Bytes;

    /// <summary>When the loop started, in ticks (the origin of allocation-log times).</summary>
    public long StartedTicks { get; private set; }

    /// <summary>Starts the carriers, then the IOKernel thread. Throws if a thread cannot be pinned,
    /// after stopping every thread it had started.</summary>
    public void Start()
    {
        StartedTicks = _time.Now();
        if (_options.HelperThreadsOffWorkers)
        {
            MoveHelperThreads();
        }
        int started = 0;
        try
        {
            for (; started < _carriers.Length; started++)
            {
                _carriers[started].Start();
            }
        }
        catch
        {
            // One carrier could not pin itself: the ones before it must not keep running.
            for (int c = 0; c < started; c++)
            {
                _carriers[c].Stop();
            }
            throw;
        }
        _thread = new Thread(Loop) { IsBackground = true, Name = "netstack-iokernel" };
        _thread.Start();
        _started.Wait();
        if (_fault is not null)
        {
            StopCarriers(TimeSpan.FromSeconds(1));
            throw _fault;
        }
    }

    /// <summary>The cores the process's other threads were moved to (<see cref="KernelOptions.HelperThreadsOffWorkers"/>); empty when they were not.</summary>
    public IReadOnlyList<int> HelperCores { get; private set; } = [];

    /// <summary>Every thread of the process, before the carriers and the IOKernel start, onto the
    /// cores no worker is pinned to; nothing when every core is a worker's.</summary>
    private void MoveHelperThreads()
    {
        int[] cores = Affinity.AvailableCores().Except(_options.WorkerCores).ToArray();
        if (cores.Length > 0 && Affinity.MoveProcessThreads(cores) > 0)
        {
            HelperCores = cores;
        }
    }

    /// <summary>
    /// Starts the shutdown: from now on new requests are refused (shutting-down), queued and running
    /// ones may finish for <see cref="KernelOptions.DrainTimeoutMillis"/>; then every request still
    /// queued or not yet started is refused, the carriers get a second to stop, and the loop ends.
    /// </summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>Waits until the IOKernel and its carriers have stopped; rethrows a fault of the loop.</summary>
    public bool Wait(TimeSpan timeout)
    {
        if (!_exited.Wait(timeout))
        {
            return false;
        }
        if (_fault is not null)
        {
            throw new InvalidOperationException("the IOKernel loop failed", _fault);
        }
        return true;
    }

    /// <summary>Stops and waits: at most the drain time and the carriers' second, plus a margin.
    /// Returns false if the loop did not end in that time (it is then left to die with the process).</summary>
    public bool Stop()
    {
        RequestStop();
        return Wait(StopBound);
    }

    /// <summary>The longest a stop takes: the drain, a second for the carriers, and a margin for the loop's last turn.</summary>
    public TimeSpan StopBound => TimeSpan.FromMilliseconds(_options.DrainTimeoutMillis) + CarrierStopBound + TimeSpan.FromMilliseconds(500);

    /// <summary>Carriers still running a handler or batch job when the kernel stopped (named in the shutdown line).</summary>
    public IReadOnlyList<Carrier> StuckCarriers => _stuckCarriers;

    private static readonly TimeSpan CarrierStopBound = TimeSpan.FromSeconds(1);
    private readonly List<Carrier> _stuckCarriers = [];

    private void Loop()
    {
        try
        {
            Affinity.PinCurrentThread(_options.IOKernelCore);
        }
        catch (Exception e)
        {
            _fault = e;
            _started.Set();
            _exited.Set();
            return;
        }
        _started.Set();
        _stallWatch.Install(_time.Now());

        try
        {
            while (true)
            {
                long now = _time.Now();
                _stallWatch.Observe(now);
                _allocations.Tick(now);
                bool worked = false;
                // While draining, arrivals are still read, and refused (shutting-down), so every
                // client that sent gets an answer rather than silence.
                worked |= RxBurst(now);
                worked |= Complete(now);
                worked |= Dispatch(now);
                worked |= Preempt(now);
                worked |= AdjustCores(now);
                worked |= Watch(now);
                worked |= TxBurst();

                if (worked)
                {
                    _idle.Worked(now); // and offers the core when it has held it for the busy bound
                    continue;
                }
                if (ShouldExit(now))
                {
                    break;
                }
                if (_idle.Idle())
                {
                    _stallWatch.Restart(_time.Now()); // parked on purpose: not the machine's pause
                }
            }
            _allocations.Stop();
        }
        catch (Exception e)
        {
            _fault = e;
        }
        finally
        {
            ShutDown();
            _exited.Set();
        }
    }

    /// <summary>The end of the drain: every request that has not started is refused, the carriers
    /// stop (a bounded wait), what they hand back is refused too, and the replies go out.</summary>
    private void ShutDown()
    {
        _shuttingDown = true;
        try
        {
            RefuseQueued();
            StopCarriers(CarrierStopBound);
            AcknowledgeMoves();
            // Carriers have stopped: whatever they pushed last (completions, handed-back requests) is answered.
            Complete(_time.Now());
            RefuseQueued();
            TxBurst();
            TxBurst();
            // Rings owned by this thread (io_uring's single issuer) are wound down here, not by Dispose.
            DetachNics();
        }
        catch (Exception e)
        {
            _fault ??= e;
        }
        // Green threads out of the pool are either unanswered (running, detached) or answered and held
        // by a NIC until their reply is sent.
        Counters.Unfinished = _pool.InUse - (_transmitted - _recycled);
        ReleaseMemory();
    }

    /// <summary>Every app's queued requests, answered shutting-down.</summary>
    private void RefuseQueued()
    {
        foreach (KernelApp app in _apps)
        {
            if (app.Policy is not { } policy)
            {
                continue;
            }
            for (int w = 0; w < Math.Max(1, _workers.Length) && policy.Count > 0; w++)
            {
                while (policy.Count > 0)
                {
                    ref Policies.QueuedRequest next = ref policy.Next(w);
                    if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref next))
                    {
                        break;
                    }
                    Refuse(next.Thread ?? Bind(ref next));
                }
            }
        }
    }

    /// <summary>A request that will not run (or run further): answered shutting-down.</summary>
    private void Refuse(GreenThread t)
    {
        t.MoveTo(GreenThreadState.Done);
        t.EnsureCarrierFields();
        t.CompletionTicks = _time.Now();
        t.FailReply(RequestStatus.ShuttingDown);
        Counters.ShutdownRefusals++;
        Trace?.Add(t.Id, t.CompletionTicks, TraceEventKind.Complete, -1);
        _transmitted++;
        _nics[t.Nic].Transmit(t);
    }

    private bool ShouldExit(long now)
    {
        if (StopWhenExhausted && !_stopRequested && Exhausted())
        {
            _stopRequested = true;
        }
        if (!_stopRequested)
        {
            return false;
        }
        if (_drainDeadline == 0)
        {
            _drainDeadline = now + Clock.FromMicros(_options.DrainTimeoutMillis * 1000);
        }
        return _pool.InUse == 0 || now >= _drainDeadline;
    }

    private readonly int[] _ownedScratch;

    /// <summary>Tells app <paramref name="appId"/>'s policy which workers it owns now.</summary>
    private void TellOwners(int appId)
    {
        if (appId < 0 || _apps[appId].Policy is not { } policy)
        {
            return;
        }
        int n = 0;
        for (int w = 0; w < _slots.Length; w++)
        {
            if (_slots[w].Owner == appId)
            {
                _ownedScratch[n++] = w;
            }
        }
        policy.OwnersChanged(_ownedScratch.AsSpan(0, n));
    }

    /// <summary>The reply of a green thread is out: back to the pool (a NIC calls it).</summary>
    void INicHost.Recycle(GreenThread thread)
    {
        _recycled++;
        _pool.Return(thread);
    }

    private long _recycled;
    private long _transmitted;
    private bool _shuttingDown;

    private bool TxBurst()
    {
        bool sent = false;
        foreach (INicQueue nic in _nics)
        {
            sent |= nic.TxBurst();
        }
        return sent;
    }

    /// <summary>The loop has ended: each NIC winds down what belongs to this thread (see <see cref="INicQueue.Detach"/>).</summary>
    private void DetachNics()
    {
        foreach (INicQueue nic in _nics)
        {
            try
            {
                nic.Detach();
            }
            catch (Exception e)
            {
                // One NIC's failure must not keep the others from winding down; the first is reported.
                _fault ??= e;
            }
        }
    }

    private bool Exhausted()
    {
        foreach (INicQueue nic in _nics)
        {
            if (!nic.Exhausted)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Frees the green threads' native buffers, unless a request is still out: a stuck or
    /// detached handler may yet write its reply (or a NIC still holds one), so its memory must
    /// outlive this kernel.</summary>
    private void ReleaseMemory()
    {
        if (_pool.InUse == 0)
        {
            _pool.Dispose();
            _replySegments.Dispose();
        }
    }

    /// <summary>Stops every carrier, waiting at most <paramref name="bound"/> for all of them; the
    /// ones still inside a handler or batch job are named in <see cref="StuckCarriers"/>.</summary>
    private void StopCarriers(TimeSpan bound)
    {
        foreach (Carrier carrier in _carriers)
        {
            carrier.RequestStop();
        }
        long deadline = Environment.TickCount64 + (long)bound.TotalMilliseconds;
        foreach (Carrier carrier in _carriers)
        {
            long left = Math.Max(0, deadline - Environment.TickCount64);
            if (!carrier.Join(TimeSpan.FromMilliseconds(left)))
            {
                _stuckCarriers.Add(carrier);
                RefuseMailboxOf(carrier.Worker);
            }
        }
    }

    /// <summary>A carrier stuck in a handler cannot hand its mailbox back: the requests waiting in it
    /// never started, so they are refused here, once the claim word says the carrier will not take them.</summary>
    private void RefuseMailboxOf(Worker worker)
    {
        if (Interlocked.CompareExchange(ref worker.MailboxClaim, Worker.ClaimedByIOKernel, 0) != 0)
        {
            return;
        }
        // The carrier is inside its running slice: the mailbox's consumer side is ours from here on.
        int w = worker.Index;
        _watch.Retire(w); // the running one stays the carrier's
        while (worker.Mailbox.TryPop(out GreenThread? t))
        {
            _watch.Retire(w);
            t.MoveTo(GreenThreadState.Queued);
            Refuse(t);
        }
    }

    private static KernelOptions WithStaticAllocation(KernelOptions options)
    {
        options.CoreAllocation = "static";
        return options;
    }
}

/// <summary>The IOKernel's counts: plain fields written by its thread alone.</summary>
internal sealed class KernelCounters
{
    /// <summary>Requests received from the NIC queue.</summary>
    public long Received;
    /// <summary>Requests rejected on arrival because the queue was full.</summary>
    public long Rejected;
    /// <summary>Requests rejected on arrival because they named no latency-critical app.</summary>
    public long Misaddressed;
    /// <summary>Requests answered after running (ok or error).</summary>
    public long Completed;
    /// <summary>Of those, handlers that threw.</summary>
    public long Errors;
    /// <summary>Green threads handed to workers (first dispatches and resumptions).</summary>
    public long Dispatches;
    /// <summary>Preemption words written.</summary>
    public long PreemptRequests;
    /// <summary>Green threads that came back yielded and were requeued.</summary>
    public long Requeues;
    /// <summary>Yields a worker decided and whose request it kept, to resume after the one waiting in its mailbox.</summary>
    public long Holds;
    /// <summary>Green threads handed back unrun by a worker whose core left their app.</summary>
    public long PutBacks;
    /// <summary>Requests that completed off the carriers (handlers that awaited something else).</summary>
    public long DetachedCompletions;
    /// <summary>Core moves made (grants and releases), the initial partition excluded.</summary>
    public long CoreMoves;
    /// <summary>Requests that never got an answer: still running on a stuck carrier, or detached and not
    /// completed, when the IOKernel stopped.</summary>
    public long Unfinished;
    /// <summary>Requests answered shutting-down: arrivals during the drain, and requests still queued or
    /// handed back unrun at its end.</summary>
    public long ShutdownRefusals;
    /// <summary>Slices that ran past the watchdog's bound without a checkpoint.</summary>
    public long StuckSlices;
    /// <summary>Batch slices that did not give their core back within the watchdog's bound.</summary>
    public long StuckBatchSlices;
    /// <summary>Loops that found a long queue and a worker run dry, and read
    /// only as many requests as they handed the workers (<see cref="IOKernel.ReceiveBudget"/>): the IOKernel,
    /// not its workers, was short.</summary>
    public long BackloggedLoops;
    /// <summary>Dispatches a mailbox refused although its worker held fewer than k requests (a broken
    /// invariant: the request went back to the head of its queue, nothing was lost).</summary>
    public long MailboxRefusals;
}
