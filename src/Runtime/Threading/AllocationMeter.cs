// Counts what one dedicated thread allocates from a given time on: the data path's own bytes, exactly.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// Measures the bytes one thread allocates between the first <see cref="Tick"/> at or after
/// <see cref="FromTicks"/> and the first at or after <see cref="UntilTicks"/> (or <see cref="Stop"/>,
/// whichever comes first). Per-thread counts are exact and unaffected by other threads (test
/// runners, timers), unlike the process-wide total. The end matters: bytes are divided by the
/// requests of a measured window, so what the thread allocates after it (the drain, the shutdown)
/// must not be counted.
/// </summary>
internal struct AllocationMeter
{
    private long _atMark;
    private long _growthAtMark;
    private bool _marked;
    private bool _stopped;

    /// <summary>Start counting at the first tick at or after this time (long.MaxValue: never).</summary>
    public long FromTicks;

    /// <summary>Stop counting at the first tick at or after this time (0, the default: only <see cref="Stop"/> stops).</summary>
    public long UntilTicks;

    /// <summary>Bytes allocated while counting.</summary>
    public long Bytes { get; private set; }

    /// <summary>Of <see cref="Bytes"/>, those allocated growing a pool past its high-water mark (<see cref="PoolGrowth"/>).</summary>
    public long GrowthBytes { get; private set; }

    /// <summary>Called by the owning thread with its current time: starts counting when due.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Tick(long now)
    {
        if (!_marked && now >= FromTicks && FromTicks != 0)
        {
            _marked = true;
            _atMark = GC.GetAllocatedBytesForCurrentThread();
            _growthAtMark = PoolGrowth.OnThisThread;
        }
        if (_marked && !_stopped && UntilTicks != 0 && now >= UntilTicks)
        {
            Stop();
        }
    }

    /// <summary>Called by the owning thread when it stops.</summary>
    public void Stop()
    {
        if (_marked && !_stopped)
        {
            _stopped = true;
            Bytes = GC.GetAllocatedBytesForCurrentThread() - _atMark;
            GrowthBytes = PoolGrowth.OnThisThread - _growthAtMark;
        }
    }
}
