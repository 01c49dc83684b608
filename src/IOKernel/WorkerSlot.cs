// What the IOKernel keeps per worker core, in one line: its own counts and the allocator's bookkeeping.
using System.Runtime.InteropServices;
using NetStack.Runtime;

namespace NetStack.IOKernel;

/// <summary>
/// The IOKernel's own state of one worker, one cache line each. Only the IOKernel thread writes it
/// (the metrics reader reads <see cref="Owner"/>), so nothing here crosses cores on the data path;
/// what the carrier writes lives on the worker's carrier line instead (<see cref="Runtime.Scheduling.Worker"/>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = CacheLine.Size)]
internal struct WorkerSlot
{
    /// <summary>Requests at the worker (dispatched, not yet come back): JBSQ's count, kept here so
    /// dispatch never reads a carrier's line.</summary>
    [FieldOffset(0)] public int Occupancy;
    /// <summary>The app the core is assigned to (-1: none).</summary>
    [FieldOffset(4)] public int Owner;
    /// <summary>The last slice whose preemption was asked (each slice is asked once).</summary>
    [FieldOffset(8)] public long PreemptedSlice;
    /// <summary>Slices whose completions came back (the carrier counts slices started; the difference is the running one).</summary>
    [FieldOffset(16)] public long SlicesEnded;
    /// <summary>When the IOKernel last handed the worker a request: a carrier parks only after idling a
    /// while past it, so a dispatch soon after needs no wake-up fence.</summary>
    [FieldOffset(24)] public long LastDispatchTicks;
    /// <summary>The assignment epoch of the last move of this core.</summary>
    [FieldOffset(32)] public long GrantEpoch;
    /// <summary>When the allocator made that move.</summary>
    [FieldOffset(40)] public long GrantTicks;
    /// <summary>Its entry in the allocation log (-1: acknowledged, or none).</summary>
    [FieldOffset(48)] public int GrantEvent;
}
