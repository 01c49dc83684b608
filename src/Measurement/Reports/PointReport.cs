// One measured point of a run: a system and policy at an offered load.
using HdrHistogram;

namespace NetStack.Measurement.Reports;

/// <summary>One point: a system under one policy at one offered load.</summary>
public sealed class PointReport
{
    /// <summary>"netstack", "threadpool" for the conventional baseline, or "model" for the queueing model's point.</summary>
    public string System { get; set; } = "netstack";
    /// <summary>Scheduling policy.</summary>
    public string Policy { get; set; } = "";
    /// <summary>Time slice, µs (0 when the policy does not preempt).</summary>
    public double QuantumUs { get; set; }
    /// <summary>Worker cores.</summary>
    public int Workers { get; set; }
    /// <summary>JBSQ's k.</summary>
    public int MailboxDepth { get; set; }
    /// <summary>Offered load, fraction of capacity (NaN for a saturation point).</summary>
    public double OfferedLoad { get; set; }
    /// <summary>Offered requests/s (NaN for a saturation point).</summary>
    public double OfferedRps { get; set; }
    /// <summary>Requests/s completed over the measured window.</summary>
    public double AchievedRps { get; set; }
    /// <summary>Saturation points: the IOKernel-to-worker cache-line round trip (ns), measured just before the point.</summary>
    public double? CrossCoreRoundTripNs { get; set; }
    /// <summary>Saturation points: the same round trip measured just after the point; far from
    /// <see cref="CrossCoreRoundTripNs"/> when the machine changed during it (see <see cref="RoundTripMoved"/>).</summary>
    public double? CrossCoreRoundTripAfterNs { get; set; }
    /// <summary>Whether the round trips before and after the point differ by more than half: the
    /// machine changed under the point (on a VM, its vCPUs moved between host cores), and
    /// <see cref="RequestsPerRoundTrip"/> does not describe it.</summary>
    public bool RoundTripMoved => CrossCoreRoundTripNs is { } before && CrossCoreRoundTripAfterNs is { } after
        && Math.Max(before, after) > 1.5 * Math.Min(before, after);
    /// <summary>Saturation points: <see cref="AchievedRps"/> × <see cref="CrossCoreRoundTripNs"/>: requests
    /// completed per cross-core round trip, a ceiling that does not depend on the machine's round trip.</summary>
    public double? RequestsPerRoundTrip { get; set; }
    /// <summary>Requests completed (whole point, warm-up included).</summary>
    public long Completed { get; set; }
    /// <summary>Requests turned away (queue full), whole point.</summary>
    public long Dropped { get; set; }
    /// <summary>Handlers that threw, whole point.</summary>
    public long Errors { get; set; }
    /// <summary>Requests still in flight when the point ended (should be 0).</summary>
    public long Unfinished { get; set; }
    /// <summary>Preemptions (yields that were requeued), whole point.</summary>
    public long Preemptions { get; set; }
    /// <summary>Bytes allocated by the whole process per request completed over the measured window.</summary>
    public double AllocatedBytesPerRequest { get; set; }
    /// <summary>Bytes the data-path threads (IOKernel, carriers) allocated per request, counted per
    /// thread from the end of warm-up: exact, whatever other threads of the process do.</summary>
    public double? DataPathAllocatedBytesPerRequest { get; set; }
    /// <summary>Of <see cref="DataPathAllocatedBytesPerRequest"/>, the bytes of pools growing past their
    /// high-water mark (green threads, receive blocks, reply segments, connections: each grows once per
    /// new high and never past its bound); the rest is what the requests themselves allocated.</summary>
    public double? DataPathPoolGrowthBytesPerRequest { get; set; }
    /// <summary>Preemption word written → next green thread running on that worker, ns.</summary>
    public Summary? PreemptionLatencyNs { get; set; }
    /// <summary>All requests of the measured window.</summary>
    public ClassReport All { get; set; } = new();
    /// <summary>Each request type.</summary>
    public List<ClassReport> Types { get; set; } = [];
    /// <summary>Share of worker-core time spent in app work (colocate runs).</summary>
    public double? WorkerBusyFraction { get; set; }
    /// <summary>The queueing model's parameters and counters (System = "model" only).</summary>
    public ModelPointInfo? Model { get; set; }
    /// <summary>The machine's stalls during the point and the requests they touched (null: not watched, or the model).</summary>
    public StallReport? Stalls { get; set; }

    // ---- network runs (udp and tcp verbs) ----

    /// <summary>udp or tcp (null for in-process runs).</summary>
    public string? Transport { get; set; }
    /// <summary>TCP connections the load was spread over.</summary>
    public int? Connections { get; set; }
    /// <summary>Payload bytes per request (the spin app echoes them).</summary>
    public int? PayloadBytes { get; set; }
    /// <summary>TCP replies that came in another order than their connection's requests (counted in failed too).</summary>
    public long? OutOfOrder { get; set; }

    /// <summary>Requests sent by the load generator.</summary>
    public long? Sent { get; set; }
    /// <summary>Answered ok.</summary>
    public long? Ok { get; set; }
    /// <summary>Answered rejected-overload.</summary>
    public long? Rejected { get; set; }
    /// <summary>Answered bad-request or error.</summary>
    public long? Failed { get; set; }
    /// <summary>Never answered.</summary>
    public long? Lost { get; set; }
    /// <summary>How far behind its schedule the generator sent, µs.</summary>
    public Summary? GeneratorLatenessUs { get; set; }
    /// <summary>Time the hypervisor took from each core (index = core) during the point, ms, from
    /// /proc/stat's steal (10 ms resolution); null where not known.</summary>
    public List<double>? StealMsPerCore { get; set; }
    /// <summary>True when the generator could not keep its schedule: the point measures the generator.</summary>
    public bool? GeneratorFellBehind { get; set; }
    /// <summary>Requests the generator's schedule held (sent falls short of it when the generator fell behind).</summary>
    public long? Scheduled { get; set; }
    /// <summary>Of the sent, those the kernel refused at once (counted lost too).</summary>
    public long? SendErrors { get; set; }
    /// <summary>Answers for a request already answered.</summary>
    public long? Duplicates { get; set; }
    /// <summary>Answers that matched no request of this point (stale, unknown id, unparsable).</summary>
    public long? UnknownResponses { get; set; }
    /// <summary>Bytes the generator's send and receive threads allocated per request recorded (counted per thread).</summary>
    public double? GeneratorAllocatedBytesPerRequest { get; set; }
    /// <summary>udp: answers the generator's own socket dropped (its receive buffer overflowed; the
    /// kernel's per-socket count): the server answered them, the generator lost them. Null: not known.</summary>
    public long? GeneratorDropped { get; set; }

    /// <summary>Written, not read: of <see cref="Lost"/>, the requests the server left unanswered,
    /// less what the generator lost itself (sends its socket refused, answers its socket dropped).
    /// On loopback a datagram the server's socket dropped and one lost in flight look alike: both are the server's.</summary>
    public long? UnansweredByServer => Lost is { } lost
        ? Math.Max(0, lost - (SendErrors ?? 0) - (GeneratorDropped ?? 0))
        : null;

    /// <summary>Written, not read: what the generator did not do as scheduled, or null when it did
    /// all: "behind" (its lateness or unsent share crossed the limits), "unsent N", "send-errors N",
    /// "dropped-at-generator N". A flag says the point measures the generator too; it never counts
    /// as the server's miss.</summary>
    public string? GeneratorFlags
    {
        get
        {
            var flags = new List<string>();
            if (GeneratorFellBehind == true)
            {
                flags.Add("behind");
            }
            if (Scheduled is { } scheduled && Sent is { } sent && sent < scheduled)
            {
                flags.Add($"unsent {scheduled - sent}");
            }
            if (SendErrors is > 0)
            {
                flags.Add($"send-errors {SendErrors}");
            }
            if (GeneratorDropped is > 0)
            {
                flags.Add($"dropped-at-generator {GeneratorDropped}");
            }
            return flags.Count == 0 ? null : string.Join(", ", flags);
        }
    }

    /// <summary>The kv verb's loading, protocol and per-operation counts (kv points only).</summary>
    public KvPointInfo? Kv { get; set; }

    /// <summary>A short label: "ps 5µs" (NetStack), "threadpool", or "model ps 5µs, 16 workers" (the
    /// model names its worker count: one model run may simulate several).</summary>
    public string Label => System switch
    {
        "netstack" => PolicyLabel,
        "model" => $"model {PolicyLabel}, {Workers} worker{(Workers == 1 ? "" : "s")}",
        _ => System,
    };

    private string PolicyLabel => QuantumUs > 0 ? $"{Policy} {QuantumUs:0.##}µs" : Policy;
}

/// <summary>Latency and slowdown of one class of requests (a type, or all).</summary>
public sealed class ClassReport
{
    /// <summary>Type name, or "all".</summary>
    public string Name { get; set; } = "all";
    /// <summary>Requests recorded.</summary>
    public long Count { get; set; }
    /// <summary>Latency, µs.</summary>
    public Summary LatencyUs { get; set; } = new();
    /// <summary>Slowdown: latency / requested service time.</summary>
    public Summary Slowdown { get; set; } = new();
    /// <summary>Preemptions of these requests.</summary>
    public long Preemptions { get; set; }
    /// <summary>Of these, handlers that threw.</summary>
    public long Errors { get; set; }
    /// <summary>The same class over the requests no stall touched (null: no attribution).</summary>
    public UntouchedClass? Untouched { get; set; }
}

/// <summary>Percentiles of one distribution.</summary>
public sealed class Summary
{
    /// <summary>Values.</summary>
    public long Count { get; set; }
    /// <summary>Median.</summary>
    public double P50 { get; set; }
    /// <summary>90th percentile.</summary>
    public double P90 { get; set; }
    /// <summary>99th percentile.</summary>
    public double P99 { get; set; }
    /// <summary>99.9th percentile.</summary>
    public double P999 { get; set; }
    /// <summary>Largest.</summary>
    public double Max { get; set; }
    /// <summary>Mean.</summary>
    public double Mean { get; set; }

    /// <summary>From an HdrHistogram, dividing every value by <paramref name="scale"/>.</summary>
    internal static Summary From(HistogramBase h, double scale)
    {
        if (h.TotalCount == 0)
        {
            return new Summary();
        }
        return new Summary
        {
            Count = h.TotalCount,
            P50 = h.GetValueAtPercentile(50) / scale,
            P90 = h.GetValueAtPercentile(90) / scale,
            P99 = h.GetValueAtPercentile(99) / scale,
            P999 = h.GetValueAtPercentile(99.9) / scale,
            Max = h.GetMaxValue() / scale,
            Mean = h.GetMean() / scale,
        };
    }

    /// <summary>A percentile by its SLO name (p50, p99, p99.9).</summary>
    public double At(string percentile) => percentile switch
    {
        "p50" => P50,
        "p99" => P99,
        "p99.9" => P999,
        _ => throw new ArgumentException($"unknown percentile '{percentile}'; valid: p50, p99, p99.9"),
    };
}
