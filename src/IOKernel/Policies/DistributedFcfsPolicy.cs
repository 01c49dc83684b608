// d-FCFS: one queue per worker, requests assigned by flow hash, run to completion, no stealing (IX, mTCP).
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>Distributed FCFS: each request is bound to one of the app's workers by its flow hash, as
/// RSS binds a flow to a core; an idle worker never takes another's work. Only the workers the app
/// owns get flows: when a core leaves the app, what waits for it is bound again among the others
/// (as an RSS table is rewritten when a queue goes), so nothing waits for a core that will not come.</summary>
internal sealed class DistributedFcfsPolicy : ISchedulingPolicy
{
    private RequestQueue[] _queues = [];
    private int[] _owned = [];
    private int _ownedCount;
    private int _count;

    /// <inheritdoc />
    public string Name => "dfcfs";

    /// <inheritdoc />
    public long QuantumTicks => 0;

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public long OldestQueuedTicks
    {
        get
        {
            long oldest = 0;
            foreach (RequestQueue q in _queues)
            {
                long t = q.HeadQueuedTicks;
                if (t != 0 && (oldest == 0 || t < oldest))
                {
                    oldest = t;
                }
            }
            return oldest;
        }
    }

    /// <inheritdoc />
    public long TotalQueued => Sum(static q => q.TotalIn);

    /// <inheritdoc />
    public long TotalTaken => Sum(static q => q.TotalOut);

    private long Sum(Func<RequestQueue, long> counter)
    {
        // Read by the allocator once per check, never per request: a delegate is fine here.
        long sum = 0;
        foreach (RequestQueue q in _queues)
        {
            sum += counter(q);
        }
        return sum;
    }

    /// <inheritdoc />
    public void PutBack(GreenThread ctx) => Requeue(ctx);

    /// <inheritdoc />
    public void Initialize(int workers, int capacity)
    {
        _queues = new RequestQueue[workers];
        _owned = new int[workers];
        int perWorker = Math.Max(1, capacity / workers);
        for (int i = 0; i < workers; i++)
        {
            _queues[i] = new RequestQueue(perWorker, capacity + 16);
        }
    }

    /// <inheritdoc />
    public bool Enqueue(in Nic.Arrival arrival, long queuedTicks)
    {
        if (!_queues[QueueOf(arrival.FlowHash)].TryAdmit(arrival, queuedTicks))
        {
            return false;
        }
        _count++;
        return true;
    }

    /// <inheritdoc />
    public void Requeue(GreenThread ctx)
    {
        _queues[QueueOf(ctx.FlowHash)].PushHead(ctx);
        _count++;
    }

    /// <inheritdoc />
    public void OwnersChanged(ReadOnlySpan<int> ownedWorkers)
    {
        ownedWorkers.CopyTo(_owned);
        _ownedCount = ownedWorkers.Length;
        if (_ownedCount == 0)
        {
            return; // no core now: requests wait where their flow hashed, and move when cores come
        }
        // Requests waiting for a worker the app no longer owns move to the queue their flow maps to now.
        for (int w = 0; w < _queues.Length; w++)
        {
            if (ownedWorkers.Contains(w))
            {
                continue;
            }
            RequestQueue stranded = _queues[w];
            while (stranded.Count > 0)
            {
                ref QueuedRequest r = ref stranded.TryTake();
                _queues[QueueOf(r.FlowHash)].PushTail(r);
            }
        }
    }

    /// <summary>The queue of a request's flow: among the owned workers, or, while the app owns none, any.</summary>
    private int QueueOf(uint flowHash) =>
        _ownedCount == 0 ? (int)(flowHash % (uint)_queues.Length) : _owned[(int)(flowHash % (uint)_ownedCount)];

    /// <inheritdoc />
    public ref QueuedRequest Next(int worker)
    {
        ref QueuedRequest r = ref _queues[worker].TryTake();
        if (!Unsafe.IsNullRef(ref r))
        {
            _count--;
        }
        return ref r;
    }

    /// <inheritdoc />
    public bool HasWaiting(int worker) => _queues[worker].Count > 0;
}
