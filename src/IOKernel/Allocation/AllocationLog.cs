// Every grant and revoke, with its latency: a preallocated log written by the IOKernel thread only.
using NetStack.Runtime;

namespace NetStack.IOKernel.Allocation;

/// <summary>One core move as it happened.</summary>
internal struct AllocationRecord
{
    /// <summary>When the check that saw the need for it ran (<see cref="CoreMove.SeenTicks"/>): for a
    /// congestion grant, up to an interval or more before the decision.</summary>
    public long SeenTicks;
    /// <summary>When the IOKernel decided it.</summary>
    public long DecidedTicks;
    /// <summary>When the core's carrier started serving the new owner (0: not yet).</summary>
    public long RunningTicks;
    /// <summary>The worker.</summary>
    public int Worker;
    /// <summary>Previous owner (-1: none).</summary>
    public int From;
    /// <summary>New owner (-1: none).</summary>
    public int To;
    /// <summary>Why.</summary>
    public AllocationReason Reason;

    /// <summary>Need seen → new owner running, ticks (0 while not acknowledged): the grant latency.</summary>
    public readonly long LatencyTicks => RunningTicks == 0 ? 0 : RunningTicks - SeenTicks;

    /// <summary>Decision → new owner running, ticks (0 while not acknowledged): the move alone.</summary>
    public readonly long MoveTicks => RunningTicks == 0 ? 0 : RunningTicks - DecidedTicks;

    /// <summary>For a test's failure message: the move, why, and its three moments in ticks.</summary>
    public override readonly string ToString() =>
        $"worker {Worker}: app {From} -> {To} ({Reason}), seen {SeenTicks}, decided {DecidedTicks}, running {RunningTicks}";
}

/// <summary>A bounded log: moves past its capacity are counted, not kept.</summary>
internal sealed class AllocationLog(int capacity)
{
    private readonly AllocationRecord[] _records = new AllocationRecord[Math.Max(1, capacity)];
    private int _count;

    /// <summary>Records kept (the IOKernel's own view).</summary>
    public int Count => _count;

    /// <summary>Records kept, for a reader on another thread: every record below it is complete.</summary>
    public int PublishedCount => Volatile.Read(ref _count); // acquire: pairs with the release in Add

    /// <summary>Moves that did not fit.</summary>
    public long Missed { get; private set; }

    /// <summary>The records, in decision order.</summary>
    public ReadOnlySpan<AllocationRecord> Records => _records.AsSpan(0, _count);

    /// <summary>Adds a move; returns its index, or -1 when full.</summary>
    public int Add(long decided, CoreMove move)
    {
        if (_count == _records.Length)
        {
            Missed++;
            return -1;
        }
        int index = _count;
        _records[index] = new AllocationRecord
        {
            SeenTicks = Math.Min(move.SeenTicks, decided),
            DecidedTicks = decided,
            Worker = move.Worker,
            From = move.From,
            To = move.To,
            Reason = move.Reason,
        };
        // Release: the record's fields are visible before the count that admits readers to it.
        Volatile.Write(ref _count, index + 1);
        return index;
    }

    /// <summary>Marks a move as done: its new owner started running.</summary>
    public void Acknowledge(int index, long runningTicks)
    {
        if (index >= 0)
        {
            _records[index].RunningTicks = Math.Max(runningTicks, _records[index].DecidedTicks);
        }
    }

    /// <summary>Latency of acknowledged grants to latency-critical apps (need seen → new owner
    /// running), µs; optionally only those taken from batch; with <paramref name="fromDecision"/>,
    /// from the decision instead (the move alone, without the detection).</summary>
    public IEnumerable<double> GrantLatenciesMicros(Func<int, bool> isLatencyCritical, Func<int, bool>? fromFilter = null,
        bool fromDecision = false)
    {
        for (int i = 0; i < _count; i++)
        {
            AllocationRecord r = _records[i];
            if (r.RunningTicks != 0 && r.To >= 0 && isLatencyCritical(r.To) && r.Reason != AllocationReason.Initial
                && (fromFilter is null || fromFilter(r.From)))
            {
                yield return Clock.ToMicros(fromDecision ? r.MoveTicks : r.LatencyTicks);
            }
        }
    }
}
