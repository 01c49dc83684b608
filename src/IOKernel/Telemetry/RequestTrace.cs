// An optional per-request event log: arrival, each dispatch, each preemption, completion.
using NetStack.Runtime;

namespace NetStack.IOKernel.Telemetry;

/// <summary>What happened to a request.</summary>
internal enum TraceEventKind : byte
{
    /// <summary>It arrived (intended time).</summary>
    Arrive,
    /// <summary>The IOKernel handed it to a worker.</summary>
    Dispatch,
    /// <summary>It yielded at a checkpoint.</summary>
    Preempt,
    /// <summary>Its handler completed.</summary>
    Complete,
    /// <summary>It was rejected on arrival.</summary>
    Reject,
}

/// <summary>One event.</summary>
internal readonly record struct TraceEvent(long RequestId, long Ticks, TraceEventKind Kind, short Worker);

/// <summary>
/// A preallocated event log written only by the IOKernel thread; when full it stops recording
/// (the first N events after it was armed are kept). Off unless configured.
/// </summary>
internal sealed class RequestTrace(int capacity)
{
    private readonly TraceEvent[] _events = new TraceEvent[capacity];
    private int _count;

    /// <summary>Events kept.</summary>
    public int Count => _count;

    /// <summary>Events that did not fit.</summary>
    public long Missed { get; private set; }

    /// <summary>Keeps an event if there is room.</summary>
    public void Add(long requestId, long ticks, TraceEventKind kind, int worker)
    {
        if (_count < _events.Length)
        {
            _events[_count++] = new TraceEvent(requestId, ticks, kind, (short)worker);
        }
        else
        {
            Missed++;
        }
    }

    /// <summary>The kept events, in the order the IOKernel saw them.</summary>
    public ReadOnlySpan<TraceEvent> Events => _events.AsSpan(0, _count);

    /// <summary>Writes the events as CSV: request, kind, worker, µs since <paramref name="originTicks"/>.</summary>
    public void WriteCsv(TextWriter writer, long originTicks)
    {
        writer.WriteLine("request_id,event,worker,time_us");
        foreach (TraceEvent e in Events)
        {
            writer.WriteLine(FormattableString.Invariant(
                $"{e.RequestId},{e.Kind.ToString().ToLowerInvariant()},{e.Worker},{Clock.ToMicros(e.Ticks - originTicks):F3}"));
        }
    }
}
