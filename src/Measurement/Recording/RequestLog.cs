// Each recorded request's arrival and completion, kept so stalls can be matched to the requests they delayed.
using System.Runtime.CompilerServices;

namespace NetStack.Measurement.Recording;

/// <summary>One request as the log keeps it: when it arrived and completed (in <see cref="Runtime.Clock"/>
/// ticks), its type and its requested service time.</summary>
/// <param name="ArrivalTicks">Its arrival stamp (the intended send time of a network run).</param>
/// <param name="CompletionTicks">When it completed (a network run: when its answer was read).</param>
/// <param name="ServiceNs">Its requested service time (clamped to int: 2.1 s).</param>
/// <param name="Type">Its request type.</param>
internal readonly record struct RequestRecord(long ArrivalTicks, long CompletionTicks, int ServiceNs, int Type);

/// <summary>
/// A preallocated log of requests, written by one thread (a carrier, or a generator's receiver)
/// while the run lasts and read after it. Adding is a bounds check and a store: nothing is
/// allocated per request. A full log keeps its first requests and counts the rest
/// (<see cref="Overflowed"/>), so a report can say how much of the run its attribution covers.
/// </summary>
internal sealed class RequestLog
{
    /// <summary>The most requests a run keeps in all (24 B each: 384 MiB), whatever it expects.</summary>
    public const int MaxRecordsPerRun = 16 * 1024 * 1024;

    private readonly RequestRecord[] _records;
    private int _count;

    /// <param name="capacity">Requests kept at most.</param>
    public RequestLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _records = new RequestRecord[capacity];
    }

    /// <summary>Requests kept at most.</summary>
    public int Capacity => _records.Length;

    /// <summary>Requests kept.</summary>
    public int Count => _count;

    /// <summary>Requests that came when the log was full: not kept.</summary>
    public long Overflowed { get; private set; }

    /// <summary>The kept requests, in the order they were added.</summary>
    public ReadOnlySpan<RequestRecord> Records => _records.AsSpan(0, _count);

    /// <summary>Keeps one request if there is room, else counts it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long arrivalTicks, long completionTicks, long serviceNs, int type)
    {
        if (_count < _records.Length)
        {
            _records[_count++] = new RequestRecord(arrivalTicks, completionTicks, (int)Math.Min(serviceNs, int.MaxValue), type);
        }
        else
        {
            Overflowed++;
        }
    }

    /// <summary>
    /// The capacity for a run expected to see <paramref name="expected"/> requests spread over
    /// <paramref name="logs"/> logs (one per carrier): a Poisson count rarely exceeds its mean by
    /// more than a few standard deviations, and one carrier may take more than its share, so each
    /// log gets room for twice its share plus that spread, within <see cref="MaxRecordsPerRun"/>.
    /// A run with no expected count (a saturation point) keeps none.
    /// </summary>
    public static int CapacityFor(double expected, int logs = 1)
    {
        if (!double.IsFinite(expected) || expected <= 0)
        {
            return 0;
        }
        logs = Math.Max(1, logs);
        double share = logs == 1 ? expected : Math.Min(expected, 2 * expected / logs);
        double room = share + 6 * Math.Sqrt(share) + 1024;
        return (int)Math.Min(room, MaxRecordsPerRun / logs);
    }
}
