// Counts what one dedicated thread allocates from a given time on: the data path's own bytes, exactly.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// Measures the bytes one thread allocates between the first <see cref="Tick"/> at or after
/// <see cref="FromTicks"/> and <see cref="Stop"/>. Per-thread counts are exact and unaffected by
/// other threads (test runners, timers), unlike the process-wide total.
/// </summary>
public struct AllocationMeter
{
    private long _atMark;
    private bool _marked;
    private bool _stopped;

    /// <summary>Start counting at the first tick at or after this time (long.MaxValue: never).</summary>
    public long FromTicks;

    /// <summary>Bytes allocated while counting.</summary>
    public long Bytes { get; private set; }

    /// <summary>Called by the owning thread with its current time: starts counting when due.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Tick(long now)
    {
        if (!_marked && now >= FromTicks && FromTicks != 0)
        {
            _marked = true;
            _atMark = GC.GetAllocatedBytesForCurrentThread();
        }
    }

    /// <summary>Called by the owning thread when it stops.</summary>
    public void Stop()
    {
        if (_marked && !_stopped)
        {
            _stopped = true;
            Bytes = GC.GetAllocatedBytesForCurrentThread() - _atMark;
        }
    }
}
