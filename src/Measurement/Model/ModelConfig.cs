// What one model point simulates: workload, policy, workers, load, and NetStack's overheads as parameters.
using NetStack.Runtime.Workloads;

namespace NetStack.Measurement.Model;

/// <summary>
/// One simulated point. The defaults are the ideal system (no dispatch or preemption cost, one
/// request per worker at a time); a point set beside a measured one takes that run's workload,
/// seed, duration, warm-up, mailbox depth and queue bound, and the overheads NetStack measured.
/// </summary>
internal sealed record ModelConfig
{
    /// <summary>NetStack's JBSQ bound (KernelOptions.MaxMailboxDepth).</summary>
    public const int MaxMailboxDepth = 8;

    /// <summary>Service-time distribution.</summary>
    public required Workload Workload { get; init; }

    /// <summary>Scheduling policy.</summary>
    public required ModelPolicy Policy { get; init; }

    /// <summary>Worker cores.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Offered load, a fraction of capacity (workers / mean service time), as the real runs define it.</summary>
    public required double Load { get; init; }

    /// <summary>Simulated time over which requests arrive, ns (the measured point's duration, warm-up included).</summary>
    public required double DurationNs { get; init; }

    /// <summary>Leading share of the duration whose arrivals are not recorded (the measured point's warm-up).</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Stop arrivals after this many, whatever the duration.</summary>
    public long MaxRequests { get; init; } = long.MaxValue;

    /// <summary>Arrival seed: the measured point's, for the same requests.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>ps: the time slice, ns. Unlike NetStack (1 µs at least) it may be tiny, to approach processor sharing.</summary>
    public double QuantumNs { get; init; } = 5_000;

    /// <summary>
    /// Dispatcher time per dispatch, ns (first dispatches and, under ps, every resumption). The
    /// dispatcher is one server: dispatches are serialized, so no more than 1e9 / DispatchNs requests
    /// a second get through whatever the worker count. NetStack's figure is 1 / its measured ceiling.
    /// </summary>
    public double DispatchNs { get; init; }

    /// <summary>Worker time lost per preemption, ns: from the end of the preempted slice to the next
    /// slice starting (NetStack's measured "word written → next green thread running").</summary>
    public double PreemptNs { get; init; }

    /// <summary>JBSQ(k): requests a worker may hold, running or waiting in its mailbox. With 1 a
    /// worker idles for a dispatch after every completion; with 2 (NetStack's default) the next
    /// request is already there.</summary>
    public int MailboxDepth { get; init; } = 1;

    /// <summary>Requests the queue admits before turning arrivals away (NetStack's QueueCapacity;
    /// d-FCFS splits it among the workers, as NetStack does). Requeued slices always fit.</summary>
    public int QueueCapacity { get; init; } = 8192;

    /// <summary>Arrivals per second the load stands for.</summary>
    public double RatePerSecond => Workload.RateFor(Load, Workers);

    /// <summary>The duration over which <paramref name="requests"/> arrivals are expected at <paramref name="load"/>.</summary>
    public static double DurationNsFor(Workload workload, double load, int workers, long requests) =>
        requests * 1e9 / workload.RateFor(load, workers);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Workload.MeanServiceNs <= 0)
        {
            throw new ArgumentException($"workload {Workload.Name} has no service time, so no capacity to take a fraction of");
        }
        Check(Workers >= 1, $"workers {Workers}: at least 1");
        Check(double.IsFinite(Load) && Load > 0, $"load {Load}: a finite fraction of capacity above 0");
        Check(double.IsFinite(DurationNs) && DurationNs >= 1 && DurationNs <= MaxDurationNs, $"duration {DurationNs} ns: from 1 ns to {MaxDurationNs:0} ns");
        Check(WarmupFraction is >= 0 and < 1, $"warm-up {WarmupFraction}: from 0 to below 1");
        Check(MaxRequests >= 1, $"max requests {MaxRequests}: at least 1");
        Check(double.IsFinite(QuantumNs) && QuantumNs >= 1, $"quantum {QuantumNs} ns: at least 1 ns");
        Check(double.IsFinite(DispatchNs) && DispatchNs >= 0, $"dispatch cost {DispatchNs} ns: 0 or more");
        Check(double.IsFinite(PreemptNs) && PreemptNs >= 0, $"preemption cost {PreemptNs} ns: 0 or more");
        Check(MailboxDepth is >= 1 and <= MaxMailboxDepth, $"mailbox depth {MailboxDepth}: from 1 to {MaxMailboxDepth}");
        Check(QueueCapacity >= 1, $"queue capacity {QueueCapacity}: at least 1");
    }

    // The simulator keeps time in picoseconds in a long; a point and its drain must fit (about 100 days).
    private const double MaxDurationNs = long.MaxValue / QueueingSimulator.PsPerNs / 2.0;

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException("model: " + message);
        }
    }
}
