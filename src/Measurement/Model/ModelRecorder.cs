// Records each completed request of the window: histograms as the measured recorder keeps them, and exact sums.
using System.Runtime.CompilerServices;
using HdrHistogram;

namespace NetStack.Measurement.Model;

/// <summary>Exact sums of one class, beside its histograms (the closed forms are checked against exact means).</summary>
internal struct ClassSums
{
    public long Count;
    public long SlowdownCount;
    public long Preemptions;
    public double LatencyNs;
    public double ServiceNs;
    public double Slowdown;
    public double MaxLatencyNs;
    public double MaxSlowdown;

    public void Add(in ClassSums o)
    {
        Count += o.Count;
        SlowdownCount += o.SlowdownCount;
        Preemptions += o.Preemptions;
        LatencyNs += o.LatencyNs;
        ServiceNs += o.ServiceNs;
        Slowdown += o.Slowdown;
        MaxLatencyNs = Math.Max(MaxLatencyNs, o.MaxLatencyNs);
        MaxSlowdown = Math.Max(MaxSlowdown, o.MaxSlowdown);
    }
}

/// <summary>
/// Latency (ns) and slowdown (in hundredths) per request type, with the range, precision and
/// clamping of NetStack's LatencyRecorder, so a model percentile and a measured one round alike.
/// </summary>
internal sealed class ModelRecorder
{
    /// <summary>Values above this are clamped (latency ns; slowdown ×100): the measured recorder's bound.</summary>
    public const long HighestTrackable = Recording.LatencyRecorder.HighestTrackable;

    /// <summary>Slowdown is stored in hundredths, as the measured recorder stores it.</summary>
    public const double SlowdownScale = Recording.LatencyRecorder.SlowdownScale;

    private readonly LongHistogram[] _latency;
    private readonly LongHistogram[] _slowdown;
    private readonly ClassSums[] _sums;

    public ModelRecorder(int types)
    {
        _latency = new LongHistogram[types];
        _slowdown = new LongHistogram[types];
        _sums = new ClassSums[types];
        for (int t = 0; t < types; t++)
        {
            _latency[t] = NewHistogram();
            _slowdown[t] = NewHistogram();
        }
    }

    /// <summary>Records one request; <paramref name="latencyNs"/> is exact (fractions of a ns from the overheads kept).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int type, double latencyNs, long serviceNs, int preemptions)
    {
        ref ClassSums s = ref _sums[type];
        s.Count++;
        s.Preemptions += preemptions;
        s.LatencyNs += latencyNs;
        s.ServiceNs += serviceNs;
        if (latencyNs > s.MaxLatencyNs)
        {
            s.MaxLatencyNs = latencyNs;
        }
        long rounded = Math.Clamp((long)latencyNs, 1, HighestTrackable);
        _latency[type].RecordValue(rounded);
        if (serviceNs > 0)
        {
            double slowdown = latencyNs / serviceNs;
            s.SlowdownCount++;
            s.Slowdown += slowdown;
            if (slowdown > s.MaxSlowdown)
            {
                s.MaxSlowdown = slowdown;
            }
            _slowdown[type].RecordValue(Math.Clamp(rounded * 100 / serviceNs, 1, HighestTrackable));
        }
    }

    /// <summary>The per-type classes and their union, after the run.</summary>
    public (ModelClass All, List<ModelClass> Types) ToClasses(IReadOnlyList<string> names)
    {
        var types = new List<ModelClass>(names.Count);
        LongHistogram allLatency = NewHistogram();
        LongHistogram allSlowdown = NewHistogram();
        var all = new ClassSums();
        for (int t = 0; t < _latency.Length; t++)
        {
            types.Add(new ModelClass(names[t], _latency[t], _slowdown[t], _sums[t]));
            allLatency.Add(_latency[t]);
            allSlowdown.Add(_slowdown[t]);
            all.Add(_sums[t]);
        }
        return (new ModelClass("all", allLatency, allSlowdown, all), types);
    }

    private static LongHistogram NewHistogram() => new(HighestTrackable, 3);
}
