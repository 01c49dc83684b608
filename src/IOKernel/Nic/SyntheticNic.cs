// An in-process open-loop arrival source on the IOKernel core: Poisson arrivals, no allocation.
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Workloads;

namespace NetStack.IOKernel.Nic;

/// <summary>How the synthetic NIC spaces its arrivals.</summary>
public enum ArrivalProcess
{
    /// <summary>Exponential gaps (open loop, the default).</summary>
    Poisson,
    /// <summary>Equal gaps.</summary>
    Fixed,
}

/// <summary>
/// A NIC queue that makes its requests up: an open-loop source that draws each request's type and
/// service time from a <see cref="Workload"/>, and its arrival time from a Poisson process, and
/// stamps each with that intended arrival time. Requests the IOKernel is late to pick up count as
/// waiting from their intended time, so IOKernel lag shows in latency (no coordinated omission).
/// With an infinite rate it keeps the central queue topped up instead: a saturation source for
/// measuring the dispatcher's ceiling.
/// </summary>
public sealed class SyntheticNic : INicQueue
{
    private readonly Workload _workload;
    private readonly double _gapTicks;
    private readonly ArrivalProcess _process;
    private readonly long _endTicks;
    private readonly long _maxRequests;
    private readonly int _appId;
    private Xoshiro256 _rng;
    private double _nextArrival;
    private long _generated;

    /// <param name="workload">Service-time distribution.</param>
    /// <param name="ratePerSecond">Arrivals per second; +∞ keeps the IOKernel saturated.</param>
    /// <param name="startTicks">The first arrival's earliest time.</param>
    /// <param name="durationTicks">No arrival at or after start + duration.</param>
    /// <param name="seed">Random seed, for repeatable runs.</param>
    /// <param name="process">Gap distribution.</param>
    /// <param name="maxRequests">Stop after this many.</param>
    /// <param name="appId">The app every request goes to.</param>
    public SyntheticNic(Workload workload, double ratePerSecond, long startTicks, long durationTicks,
        ulong seed = 42, ArrivalProcess process = ArrivalProcess.Poisson, long maxRequests = long.MaxValue, int appId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        _workload = workload;
        _gapTicks = double.IsPositiveInfinity(ratePerSecond) ? 0 : Clock.Frequency / ratePerSecond;
        _process = process;
        _rng = new Xoshiro256(seed);
        _nextArrival = startTicks;
        _endTicks = startTicks + durationTicks;
        _maxRequests = maxRequests;
        _appId = appId;
    }

    /// <summary>Requests generated so far.</summary>
    public long Generated => _generated;

    /// <summary>Requests rejected on arrival (queue full).</summary>
    public long Rejected { get; private set; }

    /// <summary>Requests answered.</summary>
    public long Answered { get; private set; }

    /// <summary>True when saturating rather than following a schedule.</summary>
    public bool Saturating => _gapTicks == 0;

    /// <inheritdoc />
    public bool Exhausted => _generated >= _maxRequests || (long)_nextArrival >= _endTicks;

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        int n = 0;
        while (n < batch.Length && _generated < _maxRequests)
        {
            long at = (long)_nextArrival;
            if (at >= _endTicks)
            {
                break;
            }
            if (Saturating)
            {
                at = now;
                if (now >= _endTicks)
                {
                    _nextArrival = now;
                    break;
                }
            }
            else if (at > now)
            {
                break;
            }
            ref Arrival a = ref batch[n++];
            a.Id = _generated++;
            a.ServiceNs = _workload.Sample(ref _rng, out a.Type);
            a.ArrivalTicks = at;
            a.FlowHash = (uint)_rng.NextUInt64();
            a.AppId = _appId;
            a.NicToken = 0;
            a.EchoToken = 0;
            a.NicQueue = 0;
            if (!Saturating)
            {
                _nextArrival += _process == ArrivalProcess.Poisson ? _rng.NextExponential(_gapTicks) : _gapTicks;
            }
        }
        return n;
    }

    /// <inheritdoc />
    public void Transmit(RequestContext ctx) => Answered++;

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status) => Rejected++;

    /// <inheritdoc />
    public bool TxBurst() => false;
}
