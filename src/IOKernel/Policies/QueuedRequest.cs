// One waiting request as a policy's queue holds it: the arrival's descriptor, or the green thread of
// a request that has already run.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>
/// A slot of a <see cref="RequestQueue"/>. A request that has not run yet waits as its
/// <see cref="Arrival"/> alone, by value in the queue's array, and gets its green thread only when it
/// is dispatched: a deep queue is then one array read front to back (which the hardware prefetcher
/// streams), not thousands of green threads whose lines a full queue's worth of requests have pushed
/// out of the caches, and the pool keeps only as many green threads warm as are in flight. A request
/// that ran and comes back (preempted, yielded, handed back) waits as its <see cref="Thread"/>.
/// </summary>
internal struct QueuedRequest
{
    /// <summary>The request as the NIC gave it; while <see cref="Thread"/> is set only its
    /// <see cref="Nic.Arrival.FlowHash"/> is kept (the policies steer by it).</summary>
    public Nic.Arrival Arrival;

    /// <summary>When it joined the queue, in Clock ticks (<see cref="GreenThread.QueuedTicks"/>).</summary>
    public long QueuedTicks;

    /// <summary>The green thread of a request that has run, or null for one that has not.</summary>
    public GreenThread? Thread;

    /// <summary>The flow a policy steers by.</summary>
    public readonly uint FlowHash => Arrival.FlowHash;
}
