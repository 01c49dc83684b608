// Stage 1, receive: a burst of requests from the NIC queue.
namespace NetStack.IOKernel;

public sealed partial class IOKernel
{
    /// <summary>Takes up to one batch from the NIC queue and steers it. True when anything arrived.</summary>
    private bool RxBurst(long now)
    {
        Span<Nic.Arrival> batch = _rxBatch;
        if (_nic.Saturating)
        {
            // A saturation source is offered only the room left, so it never meets a full queue.
            int room = Math.Min(batch.Length, _options.QueueCapacity - _policy.Count);
            if (room <= 0)
            {
                return false;
            }
            batch = batch[..room];
        }
        int n = _nic.RxBurst(now, batch);
        if (n == 0)
        {
            return false;
        }
        Steer(batch[..n], now);
        return true;
    }
}
