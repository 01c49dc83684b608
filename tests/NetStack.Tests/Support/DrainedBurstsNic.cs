// Bursts of synthetic requests, each one starting a silence after the one before was answered in full.
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Workloads;

namespace NetStack.Tests.Support;

/// <summary>
/// Poisson bursts of <paramref name="burstTicks"/> at <paramref name="ratePerSecond"/>; the silence
/// after a burst is counted from its last answer, not from its last arrival. A test that needs the
/// silence (a core released to batch while its app idles) then gets it on a machine slow enough to
/// take longer to drain a burst than to generate it: with a CPU hog beside each of our threads on
/// the 2-core AMD VM, a 5 ms burst of exp-10 under ps took up to ~100 ms to answer, so a fixed
/// timetable ran the second burst into the first's backlog and the core never went idle.
/// The first burst starts <paramref name="leadTicks"/> after the first poll. Ids run on across bursts.
/// </summary>
internal sealed class DrainedBurstsNic(Workload workload, double ratePerSecond, long leadTicks, long burstTicks, long silenceTicks, int bursts, ulong seed)
    : INicQueue
{
    private INicHost? _host;
    private SyntheticNic? _burst;
    private int _started;
    private long _idBase;
    private long _answered;
    private long _drainedAt;

    /// <summary>Ids handed out so far, over all bursts.</summary>
    public long Generated => _idBase + (_burst?.Generated ?? 0);

    /// <summary>After the last burst's silence too: a core released in it has been seen to move
    /// (read on the IOKernel's thread, as every other member).</summary>
    public bool Exhausted => _started == bursts && _burst!.Exhausted && Silent(Clock.Now());

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        if (_burst is null || (_burst.Exhausted && _started < bursts && Silent(now)))
        {
            _idBase += _burst?.Generated ?? 0;
            _burst = new SyntheticNic(workload, ratePerSecond, now + (_started == 0 ? leadTicks : 0), burstTicks, seed + (ulong)_started);
            _burst.Attach(_host!);
            _started++;
            _drainedAt = 0;
        }
        int n = _burst.RxBurst(now, batch);
        for (int i = 0; i < n; i++)
        {
            batch[i].Id += _idBase;
        }
        return n;
    }

    /// <summary>True once every id given out has its answer and the silence after that has passed.</summary>
    private bool Silent(long now)
    {
        if (_answered < Generated)
        {
            return false;
        }
        if (_drainedAt == 0)
        {
            _drainedAt = now;
        }
        return now - _drainedAt >= silenceTicks;
    }

    /// <inheritdoc />
    public void Attach(INicHost host) => _host = host;

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        _answered++;
        _host!.Recycle(thread);
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status) => _answered++;

    /// <inheritdoc />
    public bool TxBurst() => false;
}
