// The open-loop schedule of one kv point: every request's intended send time, operation, key(s) and value size, drawn before it starts.
using NetStack.Runtime;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Kv;

/// <summary>What a kv schedule is drawn from (the same for every target at one rate).</summary>
internal sealed record KvMix(KvWorkload Workload, KeySpace Keys, KeyPopularity Popularity, Arrivals Arrivals, double MissFraction);

/// <summary>
/// The requests of one point in flat arrays indexed by request number, so the send loop is a clock
/// read, an encode and a send, and the reply reader finds what request i asked for (its keys, to
/// check the reply's) without trusting the server. A multiget's keys sit in one shared block
/// (<see cref="MultigetKeys"/>); its <see cref="Key"/> entry is where they start.
/// </summary>
internal sealed class KvSchedule
{
    /// <summary>Requests a point may hold (17 bytes each plus multiget keys).</summary>
    public const int MaxRequests = 16 * 1024 * 1024;

    private long[] _offsetTicks = [];
    private byte[] _op = [];
    private int[] _key = [];
    private int[] _valueBytes = [];
    private int[] _multigetKeys = [];
    private int _multigetUsed;

    /// <summary>Requests in the schedule.</summary>
    public int Count { get; private set; }

    /// <summary>Keys per multiget.</summary>
    public int LongKeys { get; private set; }

    /// <summary>Intended send time of each request, <see cref="Clock"/> ticks after the point's start.</summary>
    public ReadOnlySpan<long> OffsetTicks => _offsetTicks.AsSpan(0, Count);

    /// <summary>Operation of each request (<see cref="KvOp"/>).</summary>
    public ReadOnlySpan<byte> Ops => _op.AsSpan(0, Count);

    /// <summary>The key of a get or set; for a multiget, where its keys start in <see cref="MultigetKeys"/>.</summary>
    public ReadOnlySpan<int> Key => _key.AsSpan(0, Count);

    /// <summary>A set's value size, bytes.</summary>
    public ReadOnlySpan<int> ValueBytes => _valueBytes.AsSpan(0, Count);

    /// <summary>Every multiget's keys, back to back.</summary>
    public ReadOnlySpan<int> MultigetKeys => _multigetKeys.AsSpan(0, _multigetUsed);

    /// <summary>The keys request <paramref name="i"/> asks for: one, or a multiget's.</summary>
    public ReadOnlySpan<int> KeysOf(int i) => _op[i] == KvOp.Multiget
        ? _multigetKeys.AsSpan(_key[i], LongKeys)
        : _key.AsSpan(i, 1);

    /// <summary>Requests a rate and duration are expected to need (the mean plus a generous margin).</summary>
    public static long ExpectedCount(double ratePerSecond, double durationS) =>
        Udp.OpenLoopSchedule.ExpectedCount(ratePerSecond, durationS);

    /// <summary>Draws a fresh schedule, reusing the arrays when they are large enough.</summary>
    public void Fill(KvMix mix, double ratePerSecond, double durationS, ulong seed)
    {
        KvWorkload workload = mix.Workload;
        LongKeys = workload.LongKeys;
        long expected = Math.Min(ExpectedCount(ratePerSecond, durationS), MaxRequests);
        if (_offsetTicks.Length < expected)
        {
            _offsetTicks = new long[expected];
            _op = new byte[expected];
            _key = new int[expected];
            _valueBytes = new int[expected];
        }
        long multigets = workload.LongFraction > 0
            ? (long)Math.Ceiling(expected * workload.LongFraction + 8 * Math.Sqrt(expected * workload.LongFraction) + 16)
            : 0;
        if (_multigetKeys.Length < multigets * LongKeys)
        {
            _multigetKeys = new int[multigets * LongKeys];
        }
        _multigetUsed = 0;
        var rng = new Xoshiro256(seed);
        double meanGapTicks = Clock.Frequency / ratePerSecond;
        double endTicks = durationS * Clock.Frequency;
        double t = mix.Arrivals.Next(ref rng, meanGapTicks);
        int n = 0;
        while (t < endTicks && n < MaxRequests)
        {
            if (n == _offsetTicks.Length)
            {
                Grow();
            }
            byte op = workload.NextOp(ref rng);
            _offsetTicks[n] = (long)t;
            _op[n] = op;
            _valueBytes[n] = 0;
            switch (op)
            {
                case KvOp.Multiget:
                    if (_multigetUsed + LongKeys > _multigetKeys.Length)
                    {
                        Array.Resize(ref _multigetKeys, _multigetKeys.Length * 2 + LongKeys);
                    }
                    _key[n] = _multigetUsed;
                    for (int k = 0; k < LongKeys; k++)
                    {
                        _multigetKeys[_multigetUsed++] = NextGetKey(mix, ref rng);
                    }
                    break;
                case KvOp.Set:
                    // Sets go to loaded keys only, so the keys that miss stay missing.
                    _key[n] = mix.Popularity.Next(ref rng);
                    _valueBytes[n] = workload.Values.Next(ref rng);
                    break;
                default:
                    _key[n] = NextGetKey(mix, ref rng);
                    break;
            }
            n++;
            t += mix.Arrivals.Next(ref rng, meanGapTicks);
        }
        Count = n;
    }

    private static int NextGetKey(KvMix mix, ref Xoshiro256 rng)
    {
        int k = mix.Popularity.Next(ref rng);
        // A miss asks for the never-stored twin of a key of the same popularity rank.
        return mix.MissFraction > 0 && rng.NextDouble() < mix.MissFraction ? k + mix.Keys.Count : k;
    }

    private void Grow()
    {
        int size = (int)Math.Min((long)_offsetTicks.Length * 2 + 16, MaxRequests);
        Array.Resize(ref _offsetTicks, size);
        Array.Resize(ref _op, size);
        Array.Resize(ref _key, size);
        Array.Resize(ref _valueBytes, size);
    }
}
