// Per-carrier latency and slowdown histograms per request type (HdrHistogram), merged when read.
using HdrHistogram;
using NetStack.Measurement.Reports;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.Measurement.Recording;

/// <summary>
/// Records each completed request's latency (from its arrival stamp to completion, ns) and
/// slowdown (latency / requested service time, in hundredths) per request type, for requests that
/// arrived inside the measurement window; warm-up and the drain are left out. One instance per
/// carrier (no sharing while the run lasts); <see cref="Merge"/> sums them afterwards. With a
/// <see cref="Log"/>, every completion it sees (warm-up included: a busy period may begin there)
/// is also kept with its stamps, so stalls can be matched to the requests they delayed.
/// </summary>
internal sealed class LatencyRecorder : CompletionRecorder
{
    /// <summary>Values above this are clamped (latency ns; slowdown ×100).</summary>
    public const long HighestTrackable = 100_000_000_000;

    /// <summary>Slowdown is stored in hundredths.</summary>
    public const double SlowdownScale = 100.0;

    private readonly long _fromTicks;
    private readonly long _untilTicks;

    // HdrHistogram's first RecordValue in a process runs its static initializers (a 1 KiB lookup
    // table). Warm-up arrivals are not recorded, so without this the first recording, inside the
    // measured window on a carrier, would allocate there.
    static LatencyRecorder() => NewHistogram().RecordValue(1);

    /// <param name="types">Request types.</param>
    /// <param name="fromTicks">Record requests that arrived at or after this.</param>
    /// <param name="untilTicks">... and before this.</param>
    /// <param name="logCapacity">Requests to keep with their stamps (0: no log); see <see cref="RequestLog.CapacityFor"/>.</param>
    public LatencyRecorder(int types, long fromTicks = 0, long untilTicks = long.MaxValue, int logCapacity = 0)
    {
        _fromTicks = fromTicks;
        _untilTicks = untilTicks;
        Log = logCapacity > 0 ? new RequestLog(logCapacity) : null;
        Latency = new LongHistogram[types];
        Slowdown = new LongHistogram[types];
        Preemptions = new long[types];
        Errors = new long[types];
        for (int t = 0; t < types; t++)
        {
            Latency[t] = NewHistogram();
            Slowdown[t] = NewHistogram();
        }
        PreemptionLatency = NewHistogram();
    }

    /// <summary>Latency in ns, per type.</summary>
    public LongHistogram[] Latency { get; }

    /// <summary>Slowdown ×100, per type.</summary>
    public LongHistogram[] Slowdown { get; }

    /// <summary>Preemptions of recorded requests, per type.</summary>
    public long[] Preemptions { get; }

    /// <summary>Recorded requests that ended in an error, per type.</summary>
    public long[] Errors { get; }

    /// <summary>Preemption word written → next green thread running, ns.</summary>
    public LongHistogram PreemptionLatency { get; }

    /// <summary>Every completion with its stamps, for stall attribution (null: not kept).</summary>
    public RequestLog? Log { get; }

    /// <summary>The measurement window's start, in ticks.</summary>
    public long FromTicks => _fromTicks;

    /// <summary>Its end.</summary>
    public long UntilTicks => _untilTicks;

    /// <summary>Requests whose arrival fell outside the window (warm-up, and after its end): not recorded.</summary>
    public long Outside { get; private set; }

    /// <summary>Requests that completed inside the window, whenever they arrived: the window's
    /// throughput (a count of the window's arrivals would credit the drain's completions to it).</summary>
    public long CompletedInWindow { get; private set; }

    /// <inheritdoc />
    public override void RecordCompletion(in CompletionStamps r) =>
        RecordRequest(r.Type, r.ArrivalTicks, r.CompletionTicks, r.ServiceNs, r.Preemptions, r.Error);

    /// <summary>Records one request by its stamps: logged if there is a log, counted as the window's
    /// completion if it completed inside it, and recorded if it arrived inside it.</summary>
    public void RecordRequest(int type, long arrivalTicks, long completionTicks, long serviceNs, int preemptions, bool error)
    {
        Log?.Add(arrivalTicks, completionTicks, serviceNs, type);
        if (completionTicks >= _fromTicks && completionTicks < _untilTicks)
        {
            CompletedInWindow++;
        }
        if (arrivalTicks < _fromTicks || arrivalTicks >= _untilTicks)
        {
            Outside++;
            return;
        }
        Record(type, Clock.ToNs(completionTicks - arrivalTicks), serviceNs, preemptions, error);
    }

    /// <summary>Records one request measured elsewhere (the UDP load generator's receiver).</summary>
    public void Record(int type, long latencyNs, long serviceNs, int preemptions, bool error)
    {
        latencyNs = Math.Clamp(latencyNs, 1, HighestTrackable);
        Latency[type].RecordValue(latencyNs);
        if (serviceNs > 0)
        {
            Slowdown[type].RecordValue(Math.Clamp(latencyNs * 100 / serviceNs, 1, HighestTrackable));
        }
        Preemptions[type] += preemptions;
        if (error)
        {
            Errors[type]++;
        }
    }

    /// <summary>The per-type and all-requests classes of a report, from this (merged) recorder.</summary>
    public (ClassReport All, List<ClassReport> Types) ToClasses(IReadOnlyList<string> typeNames)
    {
        var types = new List<ClassReport>();
        LongHistogram allLatency = NewHistogram();
        LongHistogram allSlowdown = NewHistogram();
        for (int t = 0; t < Latency.Length; t++)
        {
            allLatency.Add(Latency[t]);
            allSlowdown.Add(Slowdown[t]);
            types.Add(new ClassReport
            {
                Name = typeNames[t],
                Count = Latency[t].TotalCount,
                LatencyUs = Summary.From(Latency[t], 1000.0),
                Slowdown = Summary.From(Slowdown[t], SlowdownScale),
                Preemptions = Preemptions[t],
                Errors = Errors[t],
            });
        }
        var all = new ClassReport
        {
            Name = "all",
            Count = allLatency.TotalCount,
            LatencyUs = Summary.From(allLatency, 1000.0),
            Slowdown = Summary.From(allSlowdown, SlowdownScale),
            Preemptions = Preemptions.Sum(),
            Errors = Errors.Sum(),
        };
        return (all, types);
    }

    /// <inheritdoc />
    public override void RecordPreemptionLatency(long ticks) =>
        PreemptionLatency.RecordValue(Math.Clamp(Clock.ToNs(ticks), 1, HighestTrackable));

    /// <summary>Adds <paramref name="other"/>'s counts into this one.</summary>
    public void Merge(LatencyRecorder other)
    {
        for (int t = 0; t < Latency.Length; t++)
        {
            Latency[t].Add(other.Latency[t]);
            Slowdown[t].Add(other.Slowdown[t]);
            Preemptions[t] += other.Preemptions[t];
            Errors[t] += other.Errors[t];
        }
        PreemptionLatency.Add(other.PreemptionLatency);
        Outside += other.Outside;
        CompletedInWindow += other.CompletedInWindow;
    }

    /// <summary>A histogram with the range and precision every recorder uses (3 significant digits).</summary>
    public static LongHistogram NewHistogram() => new(HighestTrackable, 3);
}
