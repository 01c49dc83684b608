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
/// <item><see cref="RxBurst"/> (IOKernel.Rx.cs): takes a burst of requests from each NIC queue;</item>
/// <item><see cref="Steer"/> (IOKernel.Steer.cs): gives each a green thread and queues it with its app's policy;</item>
/// <item><see cref="Dispatch"/> (IOKernel.Dispatch.cs): hands queued green threads to the mailboxes of the app's workers (JBSQ);</item>
/// <item><see cref="Preempt"/> (IOKernel.Preempt.cs): writes the preemption word of workers whose slice ran past the quantum;</item>
/// <item><see cref="Complete"/> (IOKernel.Complete.cs): takes back completed or yielded green threads, answers and requeues;</item>
/// <item><see cref="AdjustCores"/> (IOKernel.AdjustCores.cs): every 5 µs, grants cores to congested apps and lends idle ones to batch.</item>
/// </list>
/// then sends what was answered (<see cref="INicQueue.TxBurst"/>). It never runs app code, and it
/// backs off through its idle strategy when a whole loop found nothing.
/// </summary>
public sealed partial class IOKernel : INicHost
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
    private readonly int[] _occupancy;
    private readonly long[] _preemptedSlice;
    private readonly int[] _owner;
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

    /// <summary>One latency-critical app on every worker core, statically: the scheduler alone.</summary>
    /// <param name="options">Cores, policy, quantum, mailbox depth, idle strategies (validated here).</param>
    /// <param name="nic">The NIC queue to poll.</param>
    /// <param name="handler">The app's handler.</param>
    /// <param name="recorderFactory">Makes one recorder per carrier and one for the IOKernel's own
    /// (detached) completions; null: nothing is measured.</param>
    /// <param name="time">The loop's clock (tests may drive it).</param>
    public IOKernel(KernelOptions options, INicQueue nic, IRequestHandler handler,
        Func<CompletionRecorder>? recorderFactory = null, TimeSource? time = null)
        : this(WithStaticAllocation(options), nic,
            [AppRegistration.LatencyCritical(new AppOptions
            {
                Name = "app",
                Policy = options.Policy,
                QuantumMicros = options.QuantumMicros,
                GuaranteedCores = options.WorkerCores.Length,
                MaxCores = options.WorkerCores.Length,
            }, handler)],
            recorderFactory, time)
    {
    }

    /// <summary>Several apps sharing the worker cores, fed by one NIC queue.</summary>
    public IOKernel(KernelOptions options, INicQueue nic, IReadOnlyList<AppRegistration> apps,
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
    public IOKernel(KernelOptions options, IReadOnlyList<INicQueue> nics, IReadOnlyList<AppRegistration> apps,
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
        _apps = apps.Select((a, i) => new KernelApp(i, a, workers, options.QueueCapacity)).ToArray();
        IBatchJob?[] jobs = _apps.Select(a => a.Job).ToArray();

        _intervalTicks = Clock.FromMicros(options.CongestionIntervalMicros);
        _allocator = new CoreAllocator(AllocationCatalog.Create(options.CoreAllocation, options.QueueDelayMicros),
            Clock.FromMicros(options.ReleaseIdleMicros));
        _appViews = new AppView[_apps.Length];
        _workerViews = new WorkerView[workers];
        _moves = new CoreMove[2 * workers + _apps.Length];
        _owner = new int[workers];
        FillAppViews(0);
        _allocator.InitialAssignment(_appViews, _owner);
        AllocationLog = new AllocationLog(options.AllocationLogCapacity);
        _grantEvent = new int[workers];
        _grantEpoch = new long[workers];

        _workers = new Worker[workers];
        _carriers = new Carrier[workers];
        var recorders = new List<CompletionRecorder>();
        for (int w = 0; w < workers; w++)
        {
            _workers[w] = new Worker(w, options.WorkerCores[w], options.MailboxDepth, _owner[w]);
            if (_owner[w] >= 0)
            {
                _apps[_owner[w]].Cores++;
            }
            _grantEpoch[w] = _workers[w].AssignmentEpoch;
            _grantEvent[w] = AllocationLog.Add(0, new CoreMove(w, Worker.NoApp, _owner[w], AllocationReason.Initial));
            CompletionRecorder? recorder = recorderFactory?.Invoke();
            if (recorder is not null)
            {
                recorders.Add(recorder);
            }
            _carriers[w] = new Carrier(_workers[w], options.CarrierIdle, recorder,
                options.IdleSpinMicros, options.IdleYieldMicros, options.IdleParkMicros, jobs);
        }
        _ownRecorder = recorderFactory?.Invoke();
        if (_ownRecorder is not null)
        {
            recorders.Add(_ownRecorder);
        }
        Recorders = recorders;
        int lcApps = _apps.Count(a => a.IsLatencyCritical);
        // Every admitted request holds a green thread until its reply is out: each app's queue bound,
        // what the workers can hold, and the replies NICs may hold while they wait to be sent (slow
        // readers), so a full queue, not an empty pool, is what turns requests away at moderate backlogs.
        _replySegments = new ReplySegmentPool((long)options.ReplyPoolMegabytes << 20);
        _pool = new GreenThreadPool(lcApps * options.QueueCapacity + workers * options.MailboxDepth + options.ReplyBacklog,
            options.InlineReplyBytes, _replySegments, _detached.Enqueue);
        foreach (INicQueue nic in _nics)
        {
            nic.Attach(this);
        }
        _rxBatch = new Arrival[options.RxBatch];
        _occupancy = new int[workers];
        _preemptedSlice = new long[workers];
        _idle = new IdleStrategy(options.IOKernelIdle, options.IdleSpinMicros, options.IdleYieldMicros, options.IdleParkMicros);
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

    /// <summary>The per-request event log, when configured.</summary>
    public RequestTrace? Trace { get; }

    /// <summary>Every core move, with its latency.</summary>
    public AllocationLog AllocationLog { get; }

    /// <summary>The allocation rules in force.</summary>
    public CoreAllocator Allocator => _allocator;

    /// <summary>The app each worker core is assigned to now (IOKernel's view; a snapshot while it runs).</summary>
    public int OwnerOf(int worker) => Volatile.Read(ref _owner[worker]);

    /// <summary>Requests admitted and not yet answered.</summary>
    public int InFlight => _pool.InUse;

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

    /// <summary>Bytes the IOKernel and carrier threads allocated from <see cref="MeasureAllocationsFrom"/>
    /// until they stopped (read after the kernel stopped).</summary>
    public long DataPathAllocatedBytes => _allocations.Bytes + _carriers.Sum(c => c.AllocatedBytes);

    /// <summary>When the loop started, in ticks (the origin of allocation-log times).</summary>
    public long StartedTicks { get; private set; }

    /// <summary>Starts the carriers, then the IOKernel thread. Throws if a thread cannot be pinned.</summary>
    public void Start()
    {
        StartedTicks = _time.Now();
        foreach (Carrier carrier in _carriers)
        {
            carrier.Start();
        }
        _thread = new Thread(Loop) { IsBackground = true, Name = "netstack-iokernel" };
        _thread.Start();
        _started.Wait();
        if (_fault is not null)
        {
            StopCarriers();
            throw _fault;
        }
    }

    /// <summary>Stops taking requests; in-flight ones finish (up to the drain timeout), then every thread ends.</summary>
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

    /// <summary>Stops and waits.</summary>
    public void Stop()
    {
        RequestStop();
        Wait(Timeout.InfiniteTimeSpan);
    }

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

        try
        {
            while (true)
            {
                long now = _time.Now();
                _allocations.Tick(now);
                bool worked = false;
                if (!_stopRequested)
                {
                    worked |= RxBurst(now);
                }
                worked |= Complete(now);
                worked |= Dispatch(now);
                worked |= Preempt(now);
                worked |= AdjustCores(now);
                worked |= TxBurst();

                if (worked)
                {
                    _idle.Reset();
                    continue;
                }
                if (ShouldExit(now))
                {
                    break;
                }
                _idle.Idle();
            }
            _allocations.Stop();
        }
        catch (Exception e)
        {
            _fault = e;
        }
        finally
        {
            StopCarriers();
            AcknowledgeMoves();
            // Carriers have stopped: whatever they pushed last is still to be answered.
            Complete(_time.Now());
            TxBurst();
            DetachNics();
            Counters.Unfinished = _pool.InUse;
            ReleaseMemory();
            _exited.Set();
        }
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

    /// <summary>The reply of a green thread is out: back to the pool (a NIC calls it).</summary>
    void INicHost.Recycle(GreenThread thread) => _pool.Return(thread);

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
    /// detached handler may yet write its reply, so its memory must outlive this kernel.</summary>
    private void ReleaseMemory()
    {
        if (_pool.InUse == 0)
        {
            _pool.Dispose();
            _replySegments.Dispose();
        }
    }

    private void StopCarriers()
    {
        foreach (Carrier carrier in _carriers)
        {
            carrier.Stop();
        }
    }

    private static KernelOptions WithStaticAllocation(KernelOptions options)
    {
        options.CoreAllocation = "static";
        return options;
    }
}

/// <summary>The IOKernel's counts: plain fields written by its thread alone.</summary>
public sealed class KernelCounters
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
    /// <summary>Green threads handed back unrun by a worker whose core left their app.</summary>
    public long PutBacks;
    /// <summary>Requests that completed off the carriers (handlers that awaited something else).</summary>
    public long DetachedCompletions;
    /// <summary>Core moves made (grants and releases), the initial partition excluded.</summary>
    public long CoreMoves;
    /// <summary>Requests still in flight when the IOKernel stopped (drain timed out).</summary>
    public long Unfinished;
}
