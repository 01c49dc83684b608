// queue-delay: Caladan's congestion test: the oldest queued request has waited longer than a threshold.
namespace NetStack.IOKernel.Allocation;

/// <summary>An app is congested when the request at the head of its queue joined it more than
/// <paramref name="thresholdTicks"/> ago. Reacts to delay rather than to any standing item, so a
/// short-lived backlog under the threshold costs no core.</summary>
internal sealed class QueueDelayAllocation(long thresholdTicks) : ICoreAllocationPolicy
{
    /// <summary>The delay bound, in ticks.</summary>
    public long ThresholdTicks { get; } = thresholdTicks;

    /// <inheritdoc />
    public string Name => "queue-delay";

    /// <inheritdoc />
    public bool Reallocates => true;

    /// <inheritdoc />
    public CongestionSignal Check(int appId, in AppView app, long now) =>
        app.OldestQueuedTicks != 0 && now - app.OldestQueuedTicks >= ThresholdTicks
            ? CongestionSignal.QueueDelay
            : CongestionSignal.None;
}
