// What a model point found: counts, throughput, and latency and slowdown per request type and overall.
using HdrHistogram;

namespace NetStack.Measurement.Model;

/// <summary>Percentiles (HdrHistogram, 3 significant digits, as the measured points) and the exact mean and maximum.</summary>
/// <param name="Count">Values.</param>
/// <param name="Mean">Exact mean.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="Max">Exact largest.</param>
internal sealed record Distribution(long Count, double Mean, double P50, double P90, double P99, double P999, double Max);

/// <summary>One class of requests (a type, or all) over the recorded window.</summary>
internal sealed class ModelClass
{
    private readonly LongHistogram _latencyNs;
    private readonly LongHistogram _slowdownScaled;

    internal ModelClass(string name, LongHistogram latencyNs, LongHistogram slowdownScaled, in ClassSums sums)
    {
        _latencyNs = latencyNs;
        _slowdownScaled = slowdownScaled;
        Name = name;
        Count = sums.Count;
        Preemptions = sums.Preemptions;
        MeanServiceNs = sums.Count == 0 ? 0 : sums.ServiceNs / sums.Count;
        Latency = Summarize(latencyNs, 1, sums.Count, sums.LatencyNs, sums.MaxLatencyNs);
        Slowdown = Summarize(slowdownScaled, ModelRecorder.SlowdownScale, sums.SlowdownCount, sums.Slowdown, sums.MaxSlowdown);
    }

    /// <summary>The type's name, or "all".</summary>
    public string Name { get; }

    /// <summary>Requests recorded.</summary>
    public long Count { get; }

    /// <summary>Preemptions of these requests.</summary>
    public long Preemptions { get; }

    /// <summary>Their mean requested service time, ns.</summary>
    public double MeanServiceNs { get; }

    /// <summary>Latency (arrival to completion), ns.</summary>
    public Distribution Latency { get; }

    /// <summary>Slowdown: latency / the request's own service time (requests of zero service left out, as the recorder does).</summary>
    public Distribution Slowdown { get; }

    /// <summary>Mean time not in service (queueing, dispatch, preemption), ns.</summary>
    public double MeanWaitNs => Latency.Mean - MeanServiceNs;

    /// <summary>Any latency percentile, ns.</summary>
    public double LatencyNsAt(double percentile) => _latencyNs.TotalCount == 0 ? 0 : _latencyNs.GetValueAtPercentile(percentile);

    /// <summary>Any slowdown percentile.</summary>
    public double SlowdownAt(double percentile) =>
        _slowdownScaled.TotalCount == 0 ? 0 : _slowdownScaled.GetValueAtPercentile(percentile) / ModelRecorder.SlowdownScale;

    private static Distribution Summarize(LongHistogram h, double scale, long count, double sum, double max) =>
        h.TotalCount == 0
            ? new Distribution(0, 0, 0, 0, 0, 0, 0)
            : new Distribution(count, sum / count,
                h.GetValueAtPercentile(50) / scale, h.GetValueAtPercentile(90) / scale, h.GetValueAtPercentile(99) / scale,
                h.GetValueAtPercentile(99.9) / scale, max);
}

/// <summary>The outcome of one simulated point.</summary>
internal sealed class ModelResult
{
    /// <summary>What was simulated.</summary>
    public required ModelConfig Config { get; init; }

    /// <summary>Requests that arrived (whole point, warm-up included).</summary>
    public required long Arrivals { get; init; }

    /// <summary>Requests completed (whole point). Arrivals = Completed + Dropped: the model drains.</summary>
    public required long Completed { get; init; }

    /// <summary>Arrivals turned away by a full queue (whole point).</summary>
    public required long Dropped { get; init; }

    /// <summary>Slices preempted and requeued (whole point).</summary>
    public required long Preemptions { get; init; }

    /// <summary>Dispatches: first dispatches and resumptions (whole point).</summary>
    public required long Dispatches { get; init; }

    /// <summary>The recorded window (arrivals after warm-up, before the end), ns.</summary>
    public required double WindowNs { get; init; }

    /// <summary>When the last request completed, ns (the duration plus the drain).</summary>
    public required double EndNs { get; init; }

    /// <summary>Share of the workers' time over the duration spent running slices.</summary>
    public required double WorkerBusyFraction { get; init; }

    /// <summary>Share of the simulated time (arrivals and drain) the dispatcher spent dispatching: near 1, it is the bottleneck.</summary>
    public required double DispatcherBusyFraction { get; init; }

    /// <summary>All recorded requests.</summary>
    public required ModelClass All { get; init; }

    /// <summary>Each request type, in workload order.</summary>
    public required IReadOnlyList<ModelClass> Types { get; init; }

    /// <summary>Wall-clock seconds the simulation took (for a rate to print, never to assert).</summary>
    public required double WallSeconds { get; init; }

    /// <summary>Recorded requests completed per second over the window, as the measured points count it.</summary>
    public double AchievedRps => WindowNs <= 0 ? 0 : All.Count / (WindowNs / 1e9);

    /// <summary>Simulated arrivals per wall-clock second.</summary>
    public double SimulatedPerSecond => WallSeconds <= 0 ? double.PositiveInfinity : Arrivals / WallSeconds;
}
