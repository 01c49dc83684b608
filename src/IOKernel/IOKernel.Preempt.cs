// Stage 4, preempt: ends slices that outlived the quantum while work waits (processor sharing).
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

public sealed partial class IOKernel
{
    /// <summary>
    /// For each worker whose running slice is older than the quantum, and which has work waiting
    /// (in its mailbox or in the queue it serves), writes the slice's id into the worker's
    /// preemption word: the handler's next checkpoint yields. Each slice is asked once.
    /// </summary>
    private bool Preempt(long now)
    {
        long quantum = _policy.QuantumTicks;
        if (quantum == 0)
        {
            return false;
        }
        bool wrote = false;
        for (int w = 0; w < _workers.Length; w++)
        {
            Worker worker = _workers[w];
            long slice = worker.RunningSlice;
            if (slice == 0 || slice == _preemptedSlice[w] || now - slice < quantum)
            {
                continue;
            }
            if (_occupancy[w] <= 1 && !_policy.HasWaiting(w))
            {
                continue; // nothing waits: let it run on
            }
            worker.Preemption.Request(slice, YieldReason.Quantum);
            _preemptedSlice[w] = slice;
            Counters.PreemptRequests++;
            wrote = true;
        }
        return wrote;
    }
}
