// The model's arrivals: the synthetic NIC's Poisson draws, in the same order from the same seed.
using System.Runtime.CompilerServices;
using NetStack.Runtime.Workloads;

namespace NetStack.Measurement.Model;

/// <summary>
/// One arrival: when, what type, how long it runs, and its flow hash (which d-FCFS steers by).
/// </summary>
/// <param name="AtNs">Intended arrival time, ns from the start of the point.</param>
/// <param name="ServiceNs">Requested service time.</param>
/// <param name="Type">Index of its request type in the workload.</param>
/// <param name="FlowHash">Its flow hash.</param>
internal readonly record struct ModelArrival(long AtNs, long ServiceNs, int Type, uint FlowHash);

/// <summary>
/// Open-loop Poisson arrivals drawn exactly as <c>SyntheticNic</c> draws them for one steady phase:
/// the first gap, then per request its type and service time (<see cref="Workload.Sample"/>), its
/// flow hash, and the next gap, all from one xoshiro256** stream. So a model point fed the seed of a
/// measured point sees the same requests in the same order, with the same services and the same
/// flows; the instants agree to the rounding of the NIC's absolute clock (well under a nanosecond
/// per gap). The NIC keeps time in <c>Stopwatch</c> ticks, which are nanoseconds on Linux.
/// </summary>
internal struct PoissonArrivals
{
    private readonly Workload _workload;
    private readonly double _meanGapNs;
    private readonly long _endNs;
    private readonly long _maxRequests;
    private Xoshiro256 _rng;
    private double _next;
    private long _generated;

    /// <param name="workload">Service-time distribution.</param>
    /// <param name="ratePerSecond">Arrivals per second (finite, positive).</param>
    /// <param name="durationNs">No arrival at or after this time.</param>
    /// <param name="seed">The seed the measured point used.</param>
    /// <param name="maxRequests">Stop after this many.</param>
    public PoissonArrivals(Workload workload, double ratePerSecond, long durationNs, ulong seed, long maxRequests = long.MaxValue)
    {
        if (!double.IsFinite(ratePerSecond) || ratePerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "a Poisson source needs a finite positive rate");
        }
        _workload = workload;
        _meanGapNs = 1e9 / ratePerSecond;
        _endNs = durationNs;
        _maxRequests = maxRequests;
        _rng = new Xoshiro256(seed);
        _next = Gap(0);
        _generated = 0;
    }

    /// <summary>Arrivals drawn so far.</summary>
    public readonly long Generated => _generated;

    /// <summary>The next arrival, or false when the duration (or the request cap) is used up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryNext(out ModelArrival arrival)
    {
        long at = (long)_next;
        if (at >= _endNs || _generated >= _maxRequests)
        {
            arrival = default;
            return false;
        }
        // The NIC's order: type and service, flow hash, then the gap to the next arrival.
        long service = _workload.Sample(ref _rng, out int type);
        uint flow = (uint)_rng.NextUInt64();
        _next = Gap(_next);
        _generated++;
        arrival = new ModelArrival(at, service, type, flow);
        return true;
    }

    // SyntheticNic.DrawNext for one phase: a gap past the end lands on the end, which stops the source.
    private double Gap(double from)
    {
        double next = from + _rng.NextExponential(_meanGapNs);
        return next < _endNs ? next : _endNs;
    }
}
