// The contract between the IOKernel's mechanism and a scheduling policy: who runs next, and where.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>
/// A scheduling policy for one app: it owns the app's waiting requests and decides which goes to
/// which worker. The IOKernel owns the mechanism (mailboxes, preemption word, completion rings);
/// every call is made on the IOKernel thread, so a policy needs no synchronization. Adding a
/// policy touches no mechanism: implement this, and name it in <see cref="PolicyCatalog"/>.
/// </summary>
internal interface ISchedulingPolicy
{
    /// <summary>The policy's name, as configuration and reports spell it.</summary>
    string Name { get; }

    /// <summary>How long a slice may run while work waits before the IOKernel preempts it, in
    /// ticks; 0: never (run to completion).</summary>
    long QuantumTicks { get; }

    /// <summary>Requests waiting (all workers).</summary>
    int Count { get; }

    /// <summary>Called once before the run, with the app's worker count and queue bound.</summary>
    void Initialize(int workers, int capacity);

    /// <summary>The workers the app owns now (ascending), after every core move that touches it and
    /// once before the run. A policy that binds requests to workers (d-FCFS) binds them only to these.</summary>
    void OwnersChanged(ReadOnlySpan<int> ownedWorkers)
    {
    }

    /// <summary>A new request, kept by value until it is dispatched (<see cref="QueuedRequest"/>).
    /// Returns false when the queue that would hold it is full: the IOKernel then rejects it at once
    /// (it never enters the system).</summary>
    bool Enqueue(in Nic.Arrival arrival, long queuedTicks);

    /// <summary>A request that yielded comes back, with its arrival stamp. Must accept it: room
    /// for every context that has ever been admitted is the policy's to keep.</summary>
    void Requeue(GreenThread ctx);

    /// <summary>The next request for worker <paramref name="worker"/>, or a null reference when none
    /// should go there. The slot is the policy's: valid until its next push, so the IOKernel takes
    /// (or binds) its green thread at once.</summary>
    ref QueuedRequest Next(int worker);

    /// <summary>True when a request is waiting that <paramref name="worker"/> could run (the IOKernel
    /// preempts a worker only when something is waiting for it).</summary>
    bool HasWaiting(int worker);

    /// <summary>A request that was handed to a worker which gave its core away before running it:
    /// it goes back where it was (the head), not behind later arrivals.</summary>
    void PutBack(GreenThread ctx);

    /// <summary>When the request at the head joined the queue (<see cref="QueuedRequest.QueuedTicks"/>),
    /// or 0 when none waits: Caladan's queueing-delay signal.</summary>
    long OldestQueuedTicks { get; }

    /// <summary>Requests that ever joined the queue (admissions, requeues, put-backs): the ring's tail.</summary>
    long TotalQueued { get; }

    /// <summary>Requests that ever left it for a worker: the ring's head. With <see cref="TotalQueued"/>,
    /// the snapshots Shenango's standing-queue test compares.</summary>
    long TotalTaken { get; }
}
