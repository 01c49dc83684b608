// c-FCFS: one central queue, first come first served, run to completion (ZygOS-like).
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>Centralized first-come first-served: every worker takes from one queue; no preemption.</summary>
internal class CentralFcfsPolicy : ISchedulingPolicy
{
    private RequestQueue _queue = new(1, 1);

    /// <inheritdoc />
    public virtual string Name => "cfcfs";

    /// <inheritdoc />
    public virtual long QuantumTicks => 0;

    /// <inheritdoc />
    public int Count => _queue.Count;

    /// <inheritdoc />
    public long OldestQueuedTicks => _queue.HeadQueuedTicks;

    /// <inheritdoc />
    public long TotalQueued => _queue.TotalIn;

    /// <inheritdoc />
    public long TotalTaken => _queue.TotalOut;

    /// <inheritdoc />
    public void PutBack(GreenThread ctx) => _queue.PushHead(ctx);

    /// <inheritdoc />
    public void Initialize(int workers, int capacity) => _queue = new RequestQueue(capacity, capacity + workers * 16);

    /// <inheritdoc />
    public bool Enqueue(in Nic.Arrival arrival, long queuedTicks) => _queue.TryAdmit(arrival, queuedTicks);

    /// <inheritdoc />
    public virtual void Requeue(GreenThread ctx) => _queue.PushHead(ctx); // it was first: it stays first

    /// <inheritdoc />
    public ref QueuedRequest Next(int worker) => ref _queue.TryTake();

    /// <inheritdoc />
    public bool HasWaiting(int worker) => _queue.Count > 0;

    /// <summary>Processor sharing uses the same queue with the tail.</summary>
    protected void RequeueAtTail(GreenThread ctx) => _queue.PushTail(ctx);
}
