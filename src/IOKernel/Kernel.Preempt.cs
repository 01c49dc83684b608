// Stage 4, preempt: ends slices that outlived their app's quantum while work waits (processor sharing).
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

internal sealed partial class Kernel
{
    /// <summary>
    /// For each worker whose running slice is older than its app's quantum, and which has work
    /// waiting (in its mailbox or in the queue it serves), writes the slice's id into the worker's
    /// preemption word: the handler's next checkpoint yields. Each slice is asked once.
    /// </summary>
    private bool Preempt(long now)
    {
        bool wrote = false;
        for (int w = 0; w < _workers.Length; w++)
        {
            int owner = _slots[w].Owner;
            if (owner < 0 || _apps[owner].Policy is not { QuantumTicks: > 0 } policy)
            {
                continue;
            }
            Worker worker = _workers[w];
            long slice = worker.RunningSliceAfter(_slots[w].SlicesEnded);
            if (slice == 0 || slice == _slots[w].PreemptedSlice || now - slice < policy.QuantumTicks)
            {
                continue;
            }
            if (_slots[w].Occupancy <= 1 && !policy.HasWaiting(w))
            {
                continue; // nothing waits: let it run on
            }
            worker.Preemption.Request(slice, YieldReason.Quantum);
            _slots[w].PreemptedSlice = slice;
            Counters.PreemptRequests++;
            wrote = true;
        }
        return wrote;
    }
}
