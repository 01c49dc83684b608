// The open-loop schedule of one point: every request's intended send time, type and service time, drawn before the point starts.
using NetStack.Runtime;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// Poisson arrivals over [0, duration), each with a request type and service time drawn from the
/// workload, held in flat arrays indexed by request number. Drawing everything before the point
/// keeps the send loop to a clock read, a header write and a send; and the receiver finds the
/// request's type and service time by the id the server echoes, without trusting the server for them.
/// The same seed gives every target the same sequence, so systems meet identical arrivals.
/// </summary>
internal sealed class OpenLoopSchedule
{
    /// <summary>Requests a point may hold: 14 bytes each, so ~450 MB at most.</summary>
    public const int MaxRequests = 32 * 1024 * 1024;

    private long[] _offsetTicks = [];
    private int[] _serviceNs = [];
    private byte[] _type = [];

    /// <summary>Requests in the schedule.</summary>
    public int Count { get; private set; }

    /// <summary>Intended send time of each request, in <see cref="Clock"/> ticks after the point's start.</summary>
    public ReadOnlySpan<long> OffsetTicks => _offsetTicks.AsSpan(0, Count);

    /// <summary>Requested service time of each request, ns.</summary>
    public ReadOnlySpan<int> ServiceNs => _serviceNs.AsSpan(0, Count);

    /// <summary>Request type of each request.</summary>
    public ReadOnlySpan<byte> Types => _type.AsSpan(0, Count);

    /// <summary>Requests a rate and duration are expected to need (the mean plus a generous margin).</summary>
    public static long ExpectedCount(double ratePerSecond, double durationS)
    {
        double mean = ratePerSecond * durationS;
        return (long)Math.Ceiling(mean + 8 * Math.Sqrt(mean) + 16);
    }

    /// <summary>Draws a fresh schedule into this instance, reusing its arrays when they are large enough.</summary>
    /// <param name="workload">Types and service times.</param>
    /// <param name="ratePerSecond">Mean arrival rate.</param>
    /// <param name="durationS">Arrivals fall in [0, durationS).</param>
    /// <param name="seed">Random seed.</param>
    public void Fill(Workload workload, double ratePerSecond, double durationS, ulong seed)
    {
        long expected = Math.Min(ExpectedCount(ratePerSecond, durationS), MaxRequests);
        if (_offsetTicks.Length < expected)
        {
            _offsetTicks = new long[expected];
            _serviceNs = new int[expected];
            _type = new byte[expected];
        }
        var rng = new Xoshiro256(seed);
        double meanGapTicks = Clock.Frequency / ratePerSecond;
        double endTicks = durationS * Clock.Frequency;
        double t = rng.NextExponential(meanGapTicks);
        int n = 0;
        while (t < endTicks && n < MaxRequests)
        {
            if (n == _offsetTicks.Length)
            {
                Grow();
            }
            long service = workload.Sample(ref rng, out int type);
            _offsetTicks[n] = (long)t;
            _serviceNs[n] = (int)Math.Min(service, int.MaxValue);
            _type[n] = (byte)type;
            n++;
            t += rng.NextExponential(meanGapTicks);
        }
        Count = n;
    }

    private void Grow()
    {
        int size = (int)Math.Min((long)_offsetTicks.Length * 2 + 16, MaxRequests);
        Array.Resize(ref _offsetTicks, size);
        Array.Resize(ref _serviceNs, size);
        Array.Resize(ref _type, size);
    }
}
