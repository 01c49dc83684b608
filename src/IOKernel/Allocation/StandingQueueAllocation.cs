// standing-queue: Shenango's congestion test, on snapshots of each app's queue head and tail.
namespace NetStack.IOKernel.Allocation;

/// <summary>
/// An app is congested when a request that was in its queue at the previous check is still there:
/// the queue's head has not passed the tail seen then. It needs two counters per queue and no
/// timestamps, and it fires within two intervals of a queue starting to stand.
/// </summary>
internal sealed class StandingQueueAllocation(int maxApps = 64) : ICoreAllocationPolicy
{
    private readonly long[] _previousTail = new long[maxApps];

    /// <inheritdoc />
    public string Name => "standing-queue";

    /// <inheritdoc />
    public bool Reallocates => true;

    /// <inheritdoc />
    public CongestionSignal Check(int appId, in AppView app, long now)
    {
        // Requests present at the previous check had indexes below its tail; one is still here
        // if the head has not reached that tail.
        bool standing = app.Queued > 0 && app.TotalTaken < _previousTail[appId];
        _previousTail[appId] = app.TotalQueued;
        return standing ? CongestionSignal.StandingQueue : CongestionSignal.None;
    }
}
