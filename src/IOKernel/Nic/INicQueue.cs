// The contract of a NIC queue: where requests come from and where answers go.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>A request as a NIC queue hands it to the IOKernel, before it has a green thread.</summary>
public struct Arrival
{
    /// <summary>Request id.</summary>
    public long Id;
    /// <summary>Request type.</summary>
    public int Type;
    /// <summary>Requested service time, ns.</summary>
    public long ServiceNs;
    /// <summary>Arrival (open loop: intended send) time, in Clock ticks.</summary>
    public long ArrivalTicks;
    /// <summary>Flow hash, for d-FCFS steering.</summary>
    public uint FlowHash;
    /// <summary>The app it is for.</summary>
    public int AppId;
    /// <summary>Transport token handed back with the answer (UDP: the peer's address and queue).</summary>
    public long NicToken;
    /// <summary>Echoed back in the answer untouched (UDP: the client's intended send time).</summary>
    public long EchoToken;
    /// <summary>The NIC queue it came on.</summary>
    public int NicQueue;
}

/// <summary>
/// A NIC queue, polled by the IOKernel on its own core. Both calls are made on the IOKernel thread
/// only, and neither may block or allocate.
/// </summary>
public interface INicQueue
{
    /// <summary>Receives up to <c>batch.Length</c> requests that have arrived by <paramref name="now"/>.</summary>
    /// <returns>How many were written.</returns>
    int RxBurst(long now, Span<Arrival> batch);

    /// <summary>Answers a request: completed (ok or error) or rejected. The context is recycled after this returns.</summary>
    void Transmit(RequestContext ctx);

    /// <summary>Answers a request that never got a green thread (rejected on arrival).</summary>
    void Reject(in Arrival arrival, RequestStatus status);

    /// <summary>Sends what <see cref="Transmit"/> batched. Returns true when it sent anything.</summary>
    bool TxBurst();

    /// <summary>True when no more requests will ever arrive (a synthetic source that ran its course).</summary>
    bool Exhausted { get; }

    /// <summary>True for a saturation source, which makes requests only as fast as they are taken:
    /// the IOKernel then asks it for no more than the central queue has room for, so none is rejected.</summary>
    bool Saturating { get; }
}
