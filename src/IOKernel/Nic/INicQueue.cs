// The contract of a NIC queue: where requests come from and where answers go.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>A request as a NIC queue hands it to the IOKernel, before it has a green thread.</summary>
internal struct Arrival
{
    /// <summary>Request id (the client's, or one the transport gave it).</summary>
    public long Id;
    /// <summary>Request type.</summary>
    public int Type;
    /// <summary>Requested service time, ns.</summary>
    public long ServiceNs;
    /// <summary>Arrival (open loop: intended send) time, in Clock ticks.</summary>
    public long ArrivalTicks;
    /// <summary>Flow hash, for d-FCFS steering.</summary>
    public uint FlowHash;
    /// <summary>The app it is for (the NIC knows it from the port it came on).</summary>
    public int AppId;
    /// <summary>Transport token handed back with the answer (UDP: the queue; TCP: connection and sequence).</summary>
    public long NicToken;
    /// <summary>The framer's tag, handed back to the reply header (spin: the intended send time).</summary>
    public long Tag;
    /// <summary>The request's body: where its bytes start (native memory the NIC owns), 0 for none.</summary>
    public nint Data;
    /// <summary>Bytes of body.</summary>
    public int Length;
    /// <summary>The NIC's receive buffer holding the body, released when the request completes (-1: none).</summary>
    public int Buffer;
    /// <summary>Where it came from.</summary>
    public ConnectionInfo Connection;
    /// <summary>The protocol that framed it, which frames its reply (null: in-process, no wire).</summary>
    public Runtime.Protocol.AppProtocol? Protocol;
    /// <summary>The NIC, when the carrier may write the reply itself (<see cref="IReplySender"/>); null: the IOKernel writes it.</summary>
    public IReplySender? ReplySender;
    /// <summary>The NIC it came from, by index in the IOKernel (set by the IOKernel).</summary>
    public int Nic;
}

/// <summary>What a NIC queue may call back on the IOKernel, on the IOKernel thread.</summary>
internal interface INicHost
{
    /// <summary>The reply of <paramref name="thread"/> is out (or was dropped): the green thread goes back to the pool.</summary>
    void Recycle(GreenThread thread);
}

/// <summary>
/// A NIC queue, polled by the IOKernel on its own core. Every call is made on the IOKernel thread
/// only, and none may block or allocate after warm-up.
/// </summary>
internal interface INicQueue
{
    /// <summary>Called once, before the loop starts: who recycles the green threads this NIC holds.</summary>
    void Attach(INicHost host);

    /// <summary>Receives up to <c>batch.Length</c> requests that have arrived by <paramref name="now"/>.</summary>
    /// <returns>How many were written.</returns>
    int RxBurst(long now, Span<Arrival> batch);

    /// <summary>
    /// Answers a request that ran (ok or error) or was refused with a green thread: its reply is
    /// finished (<see cref="GreenThread.Reply"/> holds exactly the bytes to send). The NIC releases the
    /// request's receive buffer, sends the reply in its turn, and then gives the green thread back
    /// through <see cref="INicHost.Recycle"/>.
    /// </summary>
    void Transmit(GreenThread thread);

    /// <summary>Answers a request that never got a green thread (refused on arrival), and releases its buffer.</summary>
    void Reject(in Arrival arrival, RequestStatus status);

    /// <summary>Sends what <see cref="Transmit"/> and <see cref="Reject"/> queued. True when it did anything.</summary>
    bool TxBurst();

    /// <summary>
    /// Called once on the IOKernel thread when its loop has ended, after the last <see cref="TxBurst"/>:
    /// a NIC whose kernel resources belong to the polling thread (an io_uring's single issuer, the
    /// only thread that may cancel its requests and unregister its buffers) winds them down here,
    /// answering or dropping (counted) what it still holds. Nothing is called on the NIC afterwards
    /// but Dispose.
    /// </summary>
    void Detach()
    {
    }

    /// <summary>True when no more requests will ever arrive (a synthetic source that ran its course).</summary>
    bool Exhausted { get; }

    /// <summary>True for a saturation source, which makes requests only as fast as they are taken:
    /// the IOKernel then asks it for no more than the central queue has room for, so none is rejected.</summary>
    bool Saturating { get; }
}
