// An in-process open-loop arrival source on the IOKernel core: Poisson arrivals, no allocation.
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Workloads;

namespace NetStack.IOKernel.Nic;

/// <summary>How the synthetic NIC spaces its arrivals.</summary>
internal enum ArrivalProcess
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
internal sealed class SyntheticNic : INicQueue
{
    private readonly Workload _workload;
    private readonly ArrivalProcess _process;
    private readonly long[] _phaseEnds;
    private readonly double[] _phaseGaps;
    private readonly bool _saturating;
    private readonly long _maxRequests;
    private readonly int _appId;
    private INicHost? _host;
    private Xoshiro256 _rng;
    private double _nextArrival;
    private int _phase;
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
        : this(workload, [new RatePhase(durationTicks, ratePerSecond)], startTicks, seed, process, maxRequests, appId)
    {
    }

    /// <summary>A source whose rate follows <paramref name="phases"/> one after another (a load pattern).</summary>
    public SyntheticNic(Workload workload, IReadOnlyList<RatePhase> phases, long startTicks,
        ulong seed = 42, ArrivalProcess process = ArrivalProcess.Poisson, long maxRequests = long.MaxValue, int appId = 0)
    {
        if (phases.Count == 0)
        {
            throw new ArgumentException("at least one phase is needed", nameof(phases));
        }
        _workload = workload;
        _process = process;
        _rng = new Xoshiro256(seed);
        _maxRequests = maxRequests;
        _appId = appId;
        _phaseEnds = new long[phases.Count];
        _phaseGaps = new double[phases.Count];
        long end = startTicks;
        for (int i = 0; i < phases.Count; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(phases[i].RatePerSecond);
            end += phases[i].DurationTicks;
            _phaseEnds[i] = end;
            _phaseGaps[i] = phases[i].RatePerSecond == 0 ? double.PositiveInfinity : Clock.Frequency / phases[i].RatePerSecond;
        }
        _saturating = phases.Count == 1 && double.IsPositiveInfinity(phases[0].RatePerSecond);
        _nextArrival = _saturating ? startTicks : DrawNext(startTicks);
    }

    /// <summary>Requests generated so far.</summary>
    public long Generated => _generated;

    /// <summary>Requests rejected on arrival (queue full).</summary>
    public long Rejected { get; private set; }

    /// <summary>Requests answered.</summary>
    public long Answered { get; private set; }

    /// <inheritdoc />
    public bool Saturating => _saturating;

    /// <inheritdoc />
    public bool Exhausted => _generated >= _maxRequests || (long)_nextArrival >= _phaseEnds[^1];

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        int n = 0;
        long end = _phaseEnds[^1];
        while (n < batch.Length && _generated < _maxRequests)
        {
            long at = (long)_nextArrival;
            if (_saturating)
            {
                if (now >= end)
                {
                    _nextArrival = now;
                    break;
                }
                at = now;
            }
            else if (at >= end || at > now)
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
            a.Tag = 0;
            a.Data = 0;
            a.Length = 0;
            a.Buffer = -1;
            a.Connection = default;
            a.Protocol = null;
            a.ReplySender = null;
            if (!_saturating)
            {
                _nextArrival = DrawNext(_nextArrival);
            }
        }
        return n;
    }

    /// <summary>The next arrival after <paramref name="from"/>, at the rate of the phase it falls in.
    /// A gap that crosses into the next phase is drawn again from the boundary at the new rate,
    /// which the exponential's lack of memory makes exact.</summary>
    private double DrawNext(double from)
    {
        while (true)
        {
            while (_phase < _phaseEnds.Length && from >= _phaseEnds[_phase])
            {
                _phase++;
            }
            if (_phase >= _phaseEnds.Length)
            {
                return _phaseEnds[^1];
            }
            double gap = _phaseGaps[_phase];
            if (double.IsPositiveInfinity(gap))
            {
                from = _phaseEnds[_phase];
                continue;
            }
            double next = from + (_process == ArrivalProcess.Poisson ? _rng.NextExponential(gap) : gap);
            if (next < _phaseEnds[_phase])
            {
                return next;
            }
            from = _phaseEnds[_phase];
        }
    }

    /// <inheritdoc />
    public void Attach(INicHost host) => _host = host;

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        Answered++;
        _host!.Recycle(thread);
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status) => Rejected++;

    /// <inheritdoc />
    public bool TxBurst() => false;
}

/// <summary>One phase of a load pattern: a rate held for a while.</summary>
/// <param name="DurationTicks">How long.</param>
/// <param name="RatePerSecond">Arrivals per second (0: none).</param>
internal readonly record struct RatePhase(long DurationTicks, double RatePerSecond);
