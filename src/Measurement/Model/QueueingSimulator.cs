// The ideal model: a discrete-event simulation of NetStack's dispatcher and workers under one policy.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NetStack.Measurement.Model;

/// <summary>
/// Simulates one point: Poisson arrivals (the synthetic NIC's draws) join the policy's queue
/// (one central FIFO, or one per worker by flow hash), a single dispatcher hands them to workers
/// join-bounded-shortest-queue first as NetStack's Dispatch stage does, each dispatch holding the
/// dispatcher for <see cref="ModelConfig.DispatchNs"/>, and workers run them; under ps a slice
/// that outlives the quantum while something waits for its worker is preempted (NetStack's
/// Preempt rule), goes to the tail with its arrival stamp, and costs its worker
/// <see cref="ModelConfig.PreemptNs"/>. Nothing else costs anything: no cache misses, no
/// stalls, no clock; the gap between this and a measured curve is what the machine adds.
/// </summary>
/// <remarks>
/// Three event sources, each with one pending event at most per owner: the next arrival, the
/// dispatch in flight, and each worker's next event (in <see cref="WorkerEventHeap"/>). Every
/// array is sized when the simulator is built (requests in the system are bounded by the queue
/// capacity plus what the workers hold), so the loop allocates nothing. Time is kept in
/// picoseconds, so a fractional per-dispatch cost (one over a measured ceiling) adds up exactly.
/// </remarks>
internal sealed class QueueingSimulator
{
    /// <summary>The simulator's time unit: picoseconds.</summary>
    public const long PsPerNs = 1000;

    private const long Never = long.MaxValue;
    private const int None = -1;

    // What a worker's pending event is.
    private const byte NoEvent = 0, Completion = 1, QuantumEnd = 2, PreemptionEnd = 3;

    private readonly ModelConfig _config;
    private readonly int _workers;
    private readonly int _depth;
    private readonly bool _distributed;
    private readonly long _quantumPs;
    private readonly long _dispatchPs;
    private readonly long _preemptPs;
    private readonly int _queueBound;
    private readonly long _durationNs;
    private readonly long _measureFromNs;

    // Requests in the system, in slots recycled through a free stack.
    private readonly long[] _arrivalPs;
    private readonly long[] _remainingPs;
    private readonly long[] _serviceNs;
    private readonly int[] _type;
    private readonly int[] _preemptions;
    private readonly int[] _free;
    private int _freeCount;

    // The policy's queues: one central ring, or one per worker (d-FCFS).
    private readonly IndexRing[] _queues;

    // Per worker: what it runs, what waits in its mailbox, what it holds in all (JBSQ occupancy).
    private readonly IndexRing[] _mailbox;
    private readonly int[] _running;
    private readonly long[] _sliceStartPs;
    private readonly byte[] _event;
    private readonly int[] _occupancy;
    private readonly int[] _level;
    private readonly WorkerEventHeap _heap;

    // Room left in all workers together (k − occupancy, summed): how many of the queue's requests a free worker can still take.
    private int _freeSlots;

    // _ready[k]: workers holding k requests that the dispatcher may feed (d-FCFS: whose own queue has work).
    private readonly IndexSet[] _ready;

    // ps: workers whose slice passed the quantum when nothing waited; preempted as soon as something does.
    private readonly IndexSet _overdue;

    private PoissonArrivals _source;
    private ModelArrival _nextArrival;
    private long _nextArrivalPs;

    private long _dispatchDonePs = Never;
    private int _dispatchWorker = None;
    private int _dispatchSlot = None;

    private readonly ModelRecorder _recorder;
    private long _completed, _dropped, _preemptionCount, _dispatches;
    private long _workerBusyPs, _dispatcherBusyPs, _lastEventPs;
    private bool _ran;

    /// <summary>Builds the simulator for one point; every array it needs is allocated here.</summary>
    public QueueingSimulator(ModelConfig config)
    {
        config.Validate();
        _config = config;
        _workers = config.Workers;
        _depth = config.MailboxDepth;
        _distributed = config.Policy == ModelPolicy.DistributedFcfs;
        _quantumPs = config.Policy == ModelPolicy.ProcessorSharing ? ToPs(config.QuantumNs) : 0;
        _dispatchPs = ToPs(config.DispatchNs);
        _preemptPs = ToPs(config.PreemptNs);
        _durationNs = (long)config.DurationNs;
        _measureFromNs = (long)(_durationNs * config.WarmupFraction);

        // d-FCFS splits the bound among the workers, as NetStack's DistributedFcfsPolicy does.
        _queueBound = _distributed ? Math.Max(1, config.QueueCapacity / _workers) : config.QueueCapacity;
        int queues = _distributed ? _workers : 1;
        // Waiting requests never exceed the bound plus the slices requeued past it (at most what workers held).
        int held = _workers * _depth;
        int slots = queues * _queueBound + held + 1;
        _arrivalPs = new long[slots];
        _remainingPs = new long[slots];
        _serviceNs = new long[slots];
        _type = new int[slots];
        _preemptions = new int[slots];
        _free = new int[slots];
        for (int i = 0; i < slots; i++)
        {
            _free[i] = slots - 1 - i;
        }
        _freeCount = slots;

        _queues = new IndexRing[queues];
        for (int q = 0; q < queues; q++)
        {
            _queues[q] = new IndexRing(_queueBound + (_distributed ? 0 : held));
        }
        _mailbox = new IndexRing[_workers];
        _running = new int[_workers];
        _sliceStartPs = new long[_workers];
        _event = new byte[_workers];
        _occupancy = new int[_workers];
        _level = new int[_workers];
        _ready = new IndexSet[_depth];
        for (int k = 0; k < _depth; k++)
        {
            _ready[k] = new IndexSet(_workers);
        }
        for (int w = 0; w < _workers; w++)
        {
            // A worker busy with a preemption's cost holds nothing yet may be sent k requests.
            _mailbox[w] = new IndexRing(_depth);
            _running[w] = None;
            _level[w] = None;
            RefreshReady(w);
        }
        _freeSlots = held;
        _heap = new WorkerEventHeap(_workers);
        _overdue = new IndexSet(_workers);
        _recorder = new ModelRecorder(config.Workload.Types.Count);
        _source = new PoissonArrivals(config.Workload, config.RatePerSecond, _durationNs, config.Seed, config.MaxRequests);
    }

    /// <summary>Simulates <paramref name="config"/> to the end of its drain.</summary>
    public static ModelResult Run(ModelConfig config) => new QueueingSimulator(config).Run();

    /// <summary>Runs every arrival through to completion (or a drop) and summarizes the window. Once per simulator.</summary>
    public ModelResult Run()
    {
        if (_ran)
        {
            throw new InvalidOperationException("a simulator runs its point once; build another for another run");
        }
        _ran = true;
        long started = Stopwatch.GetTimestamp();
        DrawArrival();
        while (true)
        {
            long worker = _heap.FirstAt, dispatch = _dispatchDonePs, arrival = _nextArrivalPs;
            long now;
            // Completions first at a tie: they free the slots the other two may want.
            if (worker <= dispatch && worker <= arrival)
            {
                if (worker == Never)
                {
                    break;
                }
                now = worker;
                OnWorkerEvent(_heap.First, now);
            }
            else if (dispatch <= arrival)
            {
                now = dispatch;
                OnDispatchDone(now);
            }
            else
            {
                now = arrival;
                OnArrival(now);
            }
            // NetStack's loop order: dispatch what can go, then preempt what overstayed.
            Dispatch(now);
            if (_overdue.Count > 0)
            {
                PreemptOverdue(now);
            }
            _lastEventPs = now;
            AssertInvariants();
        }
        double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Debug.Assert(_freeCount == _free.Length, "a request never left the system");
        return Summarize(wall);
    }

    // ---- arrivals ----

    private void DrawArrival() =>
        _nextArrivalPs = _source.TryNext(out _nextArrival) ? _nextArrival.AtNs * PsPerNs : Never;

    private void OnArrival(long now)
    {
        ModelArrival a = _nextArrival;
        DrawArrival();
        int q = _distributed ? (int)(a.FlowHash % (uint)_workers) : 0;
        IndexRing queue = _queues[q];
        if (queue.Count >= _queueBound)
        {
            _dropped++;
            return;
        }
        Debug.Assert(_freeCount > 0, "slots are sized for the bound");
        int slot = _free[--_freeCount];
        _arrivalPs[slot] = now;
        _remainingPs[slot] = a.ServiceNs * PsPerNs;
        _serviceNs[slot] = a.ServiceNs;
        _type[slot] = a.Type;
        _preemptions[slot] = 0;
        queue.PushTail(slot);
        if (_distributed && queue.Count == 1)
        {
            RefreshReady(q);
        }
    }

    // ---- the dispatcher ----

    /// <summary>While the dispatcher is free, sends the next waiting request to the emptiest worker that
    /// may take one (JBSQ: every worker holding 0 first, then 1, ... up to k − 1).</summary>
    private void Dispatch(long now)
    {
        while (_dispatchDonePs == Never)
        {
            int w = PickWorker();
            if (w == None)
            {
                return;
            }
            int slot = _queues[_distributed ? w : 0].PopHead();
            _occupancy[w]++;
            _freeSlots--;
            RefreshReady(w);
            _dispatches++;
            if (_dispatchPs == 0)
            {
                Deliver(w, slot, now);
                continue;
            }
            _dispatchWorker = w;
            _dispatchSlot = slot;
            _dispatchDonePs = now + _dispatchPs;
            _dispatcherBusyPs += _dispatchPs;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PickWorker()
    {
        if (!_distributed && _queues[0].Count == 0)
        {
            return None;
        }
        for (int k = 0; k < _ready.Length; k++)
        {
            IndexSet level = _ready[k];
            if (level.Count > 0)
            {
                return level[level.Count - 1];
            }
        }
        return None;
    }

    private void OnDispatchDone(long now)
    {
        int w = _dispatchWorker, slot = _dispatchSlot;
        _dispatchDonePs = Never;
        _dispatchWorker = _dispatchSlot = None;
        Deliver(w, slot, now);
    }

    /// <summary>Keeps <paramref name="w"/> in the JBSQ level it belongs to, or in none when it holds k
    /// or (d-FCFS) its own queue is empty.</summary>
    private void RefreshReady(int w)
    {
        int want = _occupancy[w] < _depth && (!_distributed || _queues[w].Count > 0) ? _occupancy[w] : None;
        int have = _level[w];
        if (want == have)
        {
            return;
        }
        if (have != None)
        {
            _ready[have].Remove(w);
        }
        if (want != None)
        {
            _ready[want].Add(w);
        }
        _level[w] = want;
    }

    // ---- workers ----

    private void Deliver(int w, int slot, long now)
    {
        if (_event[w] == NoEvent)
        {
            Start(w, slot, now);
        }
        else
        {
            _mailbox[w].PushTail(slot);
        }
    }

    private void Start(int w, int slot, long now)
    {
        _running[w] = slot;
        _sliceStartPs[w] = now;
        long remaining = _remainingPs[slot];
        if (_quantumPs > 0 && remaining > _quantumPs)
        {
            SetEvent(w, QuantumEnd, now + _quantumPs);
        }
        else
        {
            SetEvent(w, Completion, now + remaining);
        }
    }

    private void StartNextOrIdle(int w, long now)
    {
        if (_mailbox[w].Count > 0)
        {
            Start(w, _mailbox[w].PopHead(), now);
        }
        else
        {
            SetEvent(w, NoEvent, Never);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetEvent(int w, byte kind, long at)
    {
        _event[w] = kind;
        _heap.Set(w, at);
    }

    private void OnWorkerEvent(int w, long now)
    {
        switch (_event[w])
        {
            case Completion:
                Complete(w, now);
                break;
            case QuantumEnd:
                if (SomethingWaitsFor(w))
                {
                    Preempt(w, now);
                }
                else
                {
                    // Nothing waits: the slice runs on, preemptible the moment something does.
                    _overdue.Add(w);
                    SetEvent(w, Completion, _sliceStartPs[w] + _remainingPs[_running[w]]);
                }
                break;
            case PreemptionEnd:
                StartNextOrIdle(w, now);
                break;
        }
    }

    private void Complete(int w, long now)
    {
        int slot = _running[w];
        _workerBusyPs += now - _sliceStartPs[w];
        long arrivalNs = _arrivalPs[slot] / PsPerNs;
        if (arrivalNs >= _measureFromNs && arrivalNs < _durationNs)
        {
            _recorder.Record(_type[slot], (double)(now - _arrivalPs[slot]) / PsPerNs, _serviceNs[slot], _preemptions[slot]);
        }
        _completed++;
        _free[_freeCount++] = slot;
        EndSlice(w);
        StartNextOrIdle(w, now);
    }

    /// <summary>
    /// NetStack's Preempt rule, as its Preempt stage sees things right after its Dispatch stage: the
    /// worker holds another request, or the central queue holds more than the workers have room
    /// for. (A request that waits only because the dispatcher is busy is not waiting for a worker:
    /// NetStack's loop would have handed it to a free one before looking for slices to end.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SomethingWaitsFor(int w) => _occupancy[w] > 1 || _queues[0].Count > _freeSlots;

    private void PreemptOverdue(long now)
    {
        bool preempted = false;
        // Backwards: removing a member moves the last one into its place.
        for (int i = _overdue.Count - 1; i >= 0; i--)
        {
            int w = _overdue[i];
            if (SomethingWaitsFor(w))
            {
                Preempt(w, now);
                preempted = true;
            }
        }
        if (preempted)
        {
            Dispatch(now);
        }
    }

    private void Preempt(int w, long now)
    {
        int slot = _running[w];
        long ran = now - _sliceStartPs[w];
        _workerBusyPs += ran;
        _remainingPs[slot] -= ran;
        _preemptions[slot]++;
        _preemptionCount++;
        EndSlice(w);
        // Requeued past the bound if need be: an admitted request is never lost.
        _queues[0].PushTail(slot);
        if (_preemptPs > 0)
        {
            SetEvent(w, PreemptionEnd, now + _preemptPs);
        }
        else
        {
            StartNextOrIdle(w, now);
        }
    }

    /// <summary>The running slice left the worker: it holds one request fewer.</summary>
    private void EndSlice(int w)
    {
        _running[w] = None;
        _occupancy[w]--;
        _freeSlots++;
        if (_overdue.Contains(w))
        {
            _overdue.Remove(w);
        }
        RefreshReady(w);
    }

    /// <summary>Every slot is free, queued, or held by a worker (in dispatch, in a mailbox, running), and
    /// the room the dispatcher sees is the room the workers have.</summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        // Loops, not LINQ: a Debug run must not allocate in the loop either.
        int queued = 0, held = 0;
        foreach (IndexRing q in _queues)
        {
            queued += q.Count;
        }
        foreach (int o in _occupancy)
        {
            Debug.Assert(o >= 0 && o <= _depth, "a worker holds more than k requests");
            held += o;
        }
        Debug.Assert(_freeCount + queued + held == _free.Length, "a request slot is lost or counted twice");
        Debug.Assert(_workers * _depth - held == _freeSlots, "the free-slot count drifted from the workers' occupancy");
    }

    // ---- results ----

    private ModelResult Summarize(double wallSeconds)
    {
        (ModelClass all, List<ModelClass> types) = _recorder.ToClasses(_config.Workload.Types.Select(t => t.Name).ToList());
        double durationPs = (double)_durationNs * PsPerNs;
        return new ModelResult
        {
            Config = _config,
            Arrivals = _source.Generated,
            Completed = _completed,
            Dropped = _dropped,
            Preemptions = _preemptionCount,
            Dispatches = _dispatches,
            WindowNs = _durationNs - _measureFromNs,
            EndNs = (double)_lastEventPs / PsPerNs,
            WorkerBusyFraction = _workerBusyPs / (durationPs * _workers),
            DispatcherBusyFraction = _lastEventPs == 0 ? 0 : (double)_dispatcherBusyPs / _lastEventPs,
            All = all,
            Types = types,
            WallSeconds = wallSeconds,
        };
    }

    private static long ToPs(double ns) => (long)Math.Round(ns * PsPerNs);
}
