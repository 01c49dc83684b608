// The IOKernel: one pinned thread whose loop is the table of contents of the data path.
using System.Collections.Concurrent;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Policies;
using NetStack.IOKernel.Telemetry;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel;

/// <summary>
/// The dispatcher core. One dedicated thread, pinned to its core, polls the NIC queue and moves
/// requests through five stages, each in its own file:
/// <list type="number">
/// <item><see cref="RxBurst"/> (IOKernel.Rx.cs): takes a burst of requests from the NIC queue;</item>
/// <item><see cref="Steer"/> (IOKernel.Steer.cs): gives each a green thread and queues it with its app's policy;</item>
/// <item><see cref="Dispatch"/> (IOKernel.Dispatch.cs): hands queued green threads to workers' mailboxes (JBSQ);</item>
/// <item><see cref="Preempt"/> (IOKernel.Preempt.cs): writes the preemption word of workers whose slice ran past the quantum;</item>
/// <item><see cref="Complete"/> (IOKernel.Complete.cs): takes back completed or yielded green threads, answers and requeues.</item>
/// </list>
/// It never runs app code, and it backs off through its idle strategy when a whole loop found nothing.
/// </summary>
public sealed partial class IOKernel
{
    private readonly KernelOptions _options;
    private readonly INicQueue _nic;
    private readonly TimeSource _time;
    private readonly IRequestHandler _handler;
    private readonly ISchedulingPolicy _policy;
    private readonly Worker[] _workers;
    private readonly Carrier[] _carriers;
    private readonly ContextPool _pool;
    private readonly Arrival[] _rxBatch;
    private readonly int[] _occupancy;
    private readonly long[] _preemptedSlice;
    private readonly ConcurrentQueue<RequestContext> _detached = new();
    private readonly CompletionRecorder? _ownRecorder;
    private readonly IdleStrategy _idle;
    private readonly ManualResetEventSlim _started = new(false);
    private readonly ManualResetEventSlim _exited = new(false);
    private Thread? _thread;
    private Exception? _fault;
    private volatile bool _stopRequested;
    private long _drainDeadline;
    private AllocationMeter _allocations;

    /// <param name="options">Cores, policy, quantum, mailbox depth, idle strategies (validated here).</param>
    /// <param name="nic">The NIC queue to poll.</param>
    /// <param name="handler">The latency-critical app's handler.</param>
    /// <param name="recorderFactory">Makes one recorder per carrier, and one for the IOKernel's own
    /// (detached) completions; null: nothing is measured.</param>
    /// <param name="time">The loop's clock (tests may drive it).</param>
    public IOKernel(KernelOptions options, INicQueue nic, IRequestHandler handler,
        Func<CompletionRecorder>? recorderFactory = null, TimeSource? time = null)
    {
        options.Validate();
        _options = options;
        _nic = nic;
        _handler = handler;
        _time = time ?? TimeSource.System;
        int workers = options.WorkerCores.Length;
        _policy = PolicyCatalog.Create(options.Policy, options.QuantumMicros);
        _policy.Initialize(workers, options.QueueCapacity);
        _workers = new Worker[workers];
        _carriers = new Carrier[workers];
        var recorders = new List<CompletionRecorder>();
        for (int w = 0; w < workers; w++)
        {
            _workers[w] = new Worker(w, options.WorkerCores[w], options.MailboxDepth);
            CompletionRecorder? recorder = recorderFactory?.Invoke();
            if (recorder is not null)
            {
                recorders.Add(recorder);
            }
            _carriers[w] = new Carrier(_workers[w], options.CarrierIdle, recorder,
                options.IdleSpinMicros, options.IdleYieldMicros, options.IdleParkMicros);
        }
        _ownRecorder = recorderFactory?.Invoke();
        if (_ownRecorder is not null)
        {
            recorders.Add(_ownRecorder);
        }
        Recorders = recorders;
        // Every admitted request holds a context until answered: the queue's bound plus what the
        // workers can hold, so a full queue (not an empty pool) is what turns requests away.
        _pool = new ContextPool(options.QueueCapacity + workers * options.MailboxDepth, _detached.Enqueue);
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

    /// <summary>The carriers.</summary>
    public IReadOnlyList<Carrier> Carriers => _carriers;

    /// <summary>The workers.</summary>
    public IReadOnlyList<Worker> Workers => _workers;

    /// <summary>The app's policy.</summary>
    public ISchedulingPolicy Policy => _policy;

    /// <summary>The per-request event log, when configured.</summary>
    public RequestTrace? Trace { get; }

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

    /// <summary>Starts the carriers, then the IOKernel thread. Throws if a thread cannot be pinned.</summary>
    public void Start()
    {
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
                worked |= _nic.TxBurst();

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
            // Carriers have stopped: whatever they pushed last is still to be answered.
            Complete(_time.Now());
            _nic.TxBurst();
            Counters.Unfinished = _pool.InUse;
            _exited.Set();
        }
    }

    private bool ShouldExit(long now)
    {
        if (StopWhenExhausted && !_stopRequested && _nic.Exhausted)
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

    private void StopCarriers()
    {
        foreach (Carrier carrier in _carriers)
        {
            carrier.Stop();
        }
    }
}

/// <summary>The IOKernel's counts: plain fields written by its thread alone.</summary>
public sealed class KernelCounters
{
    /// <summary>Requests received from the NIC queue.</summary>
    public long Received;
    /// <summary>Requests rejected on arrival because the queue was full.</summary>
    public long Rejected;
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
    /// <summary>Requests that completed off the carriers (handlers that awaited something else).</summary>
    public long DetachedCompletions;
    /// <summary>Requests still in flight when the IOKernel stopped (drain timed out).</summary>
    public long Unfinished;
}
