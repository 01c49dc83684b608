// Stage 1, receive: a burst of requests from the NIC queue.
namespace NetStack.IOKernel;

internal sealed partial class Kernel
{
    /// <summary>Takes up to one batch from each NIC queue and steers it. True when anything arrived.</summary>
    private bool RxBurst(long now)
    {
        bool any = false;
        int budget = ReadBudget();
        for (int i = 0; i < _nics.Length; i++)
        {
            any |= RxBurst(i, budget, now);
        }
        return any;
    }

    /// <summary>The requests this loop reads from each NIC (<see cref="IOKernel.ReceiveBudget"/>).</summary>
    private int ReadBudget()
    {
        if (!_receiveBudget.RanDryRecently(Counters.Dispatches, _dryDispatches))
        {
            return _rxBatch.Length; // the common loop: no queue is counted
        }
        int queued = 0;
        foreach (KernelApp app in _apps)
        {
            if (app.Policy is { } policy)
            {
                queued += policy.Count;
            }
        }
        int budget = _receiveBudget.Limit(_rxBatch.Length, _longQueue, queued);
        if (budget < _rxBatch.Length)
        {
            Counters.BackloggedLoops++;
        }
        return budget;
    }

    private ReceiveBudget _receiveBudget;
    private readonly int _longQueue;

    private bool RxBurst(int nicIndex, int budget, long now)
    {
        Nic.INicQueue nic = _nics[nicIndex];
        Span<Nic.Arrival> batch = _rxBatch.AsSpan(0, budget);
        if (nic.Saturating)
        {
            // A saturation source is offered only the room left in the smallest queue it could
            // fill, so it never meets a full one (nor pays a rejection: the budget is not its).
            batch = _rxBatch;
            int room = batch.Length;
            foreach (KernelApp app in _apps)
            {
                if (app.Policy is { } p)
                {
                    room = Math.Min(room, _options.QueueCapacity - p.Count);
                }
            }
            if (room <= 0)
            {
                return false;
            }
            batch = batch[..room];
        }
        int n = nic.RxBurst(now, batch);
        if (n == 0)
        {
            return false;
        }
        Steer(batch[..n], nicIndex, now);
        return true;
    }
}
