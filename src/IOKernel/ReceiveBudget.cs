// How many requests a loop reads from each NIC: a whole batch, or, when the IOKernel is what is short, only what it handed the workers.
namespace NetStack.IOKernel;

/// <summary>
/// The IOKernel's receive budget per loop and NIC. A loop reads a whole batch, unless a long queue
/// (a quarter of the queue bound, at least a batch) already waits in the latency-critical queues
/// and a worker ran dry in one of the last
/// <see cref="DryMemoryLoops"/> loops (it was handed a request while holding none: it had finished
/// everything before the loop came round, so the IOKernel, not the workers, is what is short). Then
/// it reads only as many requests as the previous loop handed the workers. Reading more would
/// lengthen the queue and, once it is full, pay a rejection for each request past it: as much of the
/// IOKernel's time as a short request's answer, in a loop that hands the workers no more, which is
/// how 200 k/s of 64-byte echoes once collapsed to 12 k/s answered. What is not read waits in the
/// kernel (a UDP socket's buffer, which drops past its size; TCP's flow control). When the workers
/// are what is short they never run dry, every loop reads a whole batch, and a full queue rejects.
/// Rejections are thus paid from the IOKernel's spare time only. The queue is kept long, not a batch
/// long, so that a policy still sees the requests a stall's backlog holds (processor sharing cuts
/// a short request in among long ones only once it is queued, not while it waits in a socket), and
/// a backlog that the workers will drain is read in and served, not left to overflow the socket.
/// </summary>
internal struct ReceiveBudget
{
    /// <summary>Loops a worker's running dry counts for: whether a worker with k requests has finished
    /// them by the next loop flickers from loop to loop when the two take about as long, and a single
    /// whole read into a full queue is a batch of rejections.</summary>
    public const int DryMemoryLoops = 64;

    /// <summary>The long queue for a queue bound of <paramref name="queueCapacity"/> and a receive batch of <paramref name="batch"/>.</summary>
    public static int LongQueue(int queueCapacity, int batch) => Math.Max(batch, queueCapacity / 4);

    private long _dispatches;
    private long _dryDispatches;
    private int _dryLoopsLeft;
    private long _handed;

    /// <summary>
    /// This loop's first step: takes in the dispatch counts, and says whether a worker ran dry
    /// recently enough for the queue's length to matter. When it returns false the loop reads a
    /// whole batch, and the queues need not be counted.
    /// </summary>
    /// <param name="dispatches">Every dispatch so far (a monotonic count).</param>
    /// <param name="dryDispatches">Of those, dispatches to a worker holding nothing.</param>
    public bool RanDryRecently(long dispatches, long dryDispatches)
    {
        _handed = dispatches - _dispatches;
        _dispatches = dispatches;
        if (dryDispatches != _dryDispatches)
        {
            _dryDispatches = dryDispatches;
            _dryLoopsLeft = DryMemoryLoops;
        }
        else if (_dryLoopsLeft > 0)
        {
            _dryLoopsLeft--;
        }
        return _dryLoopsLeft > 0;
    }

    /// <summary>The second step, after <see cref="RanDryRecently"/> said true: the requests this loop may read from each NIC.</summary>
    /// <param name="batch">A whole receive batch.</param>
    /// <param name="longQueue">The queued requests from which the budget applies.</param>
    /// <param name="queued">Requests waiting in the latency-critical apps' queues now.</param>
    public readonly int Limit(int batch, int longQueue, int queued) =>
        queued < longQueue ? batch : (int)Math.Min(_handed, batch);

    /// <summary>Both steps at once: the requests this loop may read from each NIC.</summary>
    /// <param name="batch">A whole receive batch.</param>
    /// <param name="longQueue">The queued requests from which the budget may apply.</param>
    /// <param name="dispatches">Every dispatch so far (a monotonic count).</param>
    /// <param name="dryDispatches">Of those, dispatches to a worker holding nothing.</param>
    /// <param name="queued">Requests waiting in the latency-critical apps' queues now.</param>
    public int Next(int batch, int longQueue, long dispatches, long dryDispatches, int queued) =>
        RanDryRecently(dispatches, dryDispatches) ? Limit(batch, longQueue, queued) : batch;
}
