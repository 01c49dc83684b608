// The key space a kv run loads and asks for: each key's bytes from its number, its size fixed by a hash of that number.
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// Keys 0..Count-1 are loaded; keys Count..2·Count-1 are never stored, and stand for the requests
/// that miss (<c>--miss-fraction</c>). Key k is its decimal number, zero-padded to its size, as
/// mutilate writes keys: printable, free of spaces, and distinct for distinct numbers; there is
/// always at least one byte of padding, and a key that must miss has 'm' there instead of '0', so
/// no run of this verb ever stores it, whatever --keys an earlier run against the same server had.
/// A key's size (and its loaded value's size) comes from a hash of its number, not from the run's
/// seed, so every run and every target with the same --keys holds the very same keys and values.
/// </summary>
internal sealed class KeySpace
{
    private readonly byte[]? _lengths;
    private readonly int _fixedLength;

    /// <param name="workload">Key and value sizes.</param>
    /// <param name="count">Keys loaded.</param>
    public KeySpace(KvWorkload workload, int count)
    {
        Count = count;
        Workload = workload;
        int total = checked(count * 2);
        // A key needs the digits of the largest number and its marker byte; mutilate raises short keys to the digits too.
        int digits = Digits(total - 1) + 1;
        if (workload.Keys.IsFixed)
        {
            _fixedLength = Math.Max(workload.Keys.FromUniform(0.5), digits);
            MaxKeyBytes = _fixedLength;
            return;
        }
        _lengths = new byte[total];
        int max = 0;
        for (int k = 0; k < total; k++)
        {
            int length = Math.Max(workload.Keys.FromUniform(Uniform(k, 0)), digits);
            _lengths[k] = (byte)length;
            max = Math.Max(max, length);
        }
        MaxKeyBytes = max;
    }

    /// <summary>Keys loaded.</summary>
    public int Count { get; }

    /// <summary>The workload whose sizes these are.</summary>
    public KvWorkload Workload { get; }

    /// <summary>The longest key, bytes.</summary>
    public int MaxKeyBytes { get; }

    /// <summary>Key <paramref name="k"/>'s size, bytes.</summary>
    public int LengthOf(int k) => _lengths is null ? _fixedLength : _lengths[k];

    /// <summary>Writes key <paramref name="k"/> at the start of <paramref name="destination"/>; returns its size.</summary>
    public int Write(int k, Span<byte> destination)
    {
        int length = LengthOf(k);
        Span<byte> key = destination[..length];
        int n = k;
        for (int i = length - 1; i >= 0; i--)
        {
            key[i] = (byte)('0' + n % 10);
            n /= 10;
        }
        if (k >= Count)
        {
            key[0] = (byte)'m';
        }
        return length;
    }

    /// <summary>True when <paramref name="bytes"/> is key <paramref name="k"/>.</summary>
    public bool Is(int k, ReadOnlySpan<byte> bytes)
    {
        Span<byte> key = stackalloc byte[KeySizes.MaxKeyBytes];
        int length = Write(k, key);
        return bytes.SequenceEqual(key[..length]);
    }

    /// <summary>The size of the value loaded for key <paramref name="k"/>.</summary>
    public int LoadedValueBytes(int k)
    {
        var rng = new Xoshiro256(Hash(k, 1));
        return Workload.Values.Next(ref rng);
    }

    private static int Digits(int n) => n < 10 ? 1 : 1 + Digits(n / 10);

    /// <summary>A uniform draw in (0, 1) fixed by the key number and a stream number.</summary>
    private static double Uniform(int k, ulong stream) => ((Hash(k, stream) >> 11) + 0.5) * (1.0 / (1UL << 53));

    private static ulong Hash(int k, ulong stream)
    {
        // splitmix64's finalizer: consecutive key numbers map to unrelated bits.
        ulong z = (ulong)k * 0x9E3779B97F4A7C15UL + stream * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Which key a request asks for: uniform over the key space, or zipf (YCSB's generator).</summary>
internal sealed class KeyPopularity
{
    /// <summary>The names <c>--popularity</c> accepts.</summary>
    public static readonly string[] Names = ["uniform", "zipf"];

    private readonly int _count;
    private readonly double _theta;
    private readonly double _zetaN;
    private readonly double _alpha;
    private readonly double _eta;
    private readonly double _secondThreshold;

    private KeyPopularity(string name, int count, double theta)
    {
        Name = name;
        _count = count;
        _theta = theta;
        if (theta <= 0)
        {
            return;
        }
        // Gray et al., "Quickly generating billion-record synthetic databases" (SIGMOD'94), as YCSB's
        // ZipfianGenerator runs it: zeta(n) once, then each draw in O(1). Ranks 0 and 1 are exact;
        // the rest follow the continuous approximation.
        _zetaN = Zeta(count, theta);
        double zeta2 = Zeta(2, theta);
        _alpha = 1 / (1 - theta);
        _eta = (1 - Math.Pow(2.0 / count, 1 - theta)) / (1 - zeta2 / _zetaN);
        _secondThreshold = 1 + Math.Pow(0.5, theta);
    }

    /// <summary>uniform, or zipf.</summary>
    public string Name { get; }

    /// <summary>The zipf exponent (0 for uniform).</summary>
    public double Exponent => _theta;

    /// <summary>Under zipf, the share of requests the most popular key gets: 1 / zeta(n, θ).</summary>
    public double TopKeyShare => _theta > 0 ? 1 / _zetaN : 1.0 / _count;

    /// <summary>Every key equally likely.</summary>
    public static KeyPopularity Uniform(int count) => new("uniform", count, 0);

    /// <summary>Key k (rank k) drawn with probability ∝ 1/(k+1)^θ; key 0 the most popular.</summary>
    public static KeyPopularity Zipf(int count, double theta) => new("zipf", count, theta);

    /// <summary>A key number in 0..count-1.</summary>
    public int Next(ref Xoshiro256 rng)
    {
        double u = rng.NextDouble();
        if (_theta <= 0)
        {
            return (int)(u * _count);
        }
        double uz = u * _zetaN;
        if (uz < 1)
        {
            return 0;
        }
        if (uz < _secondThreshold)
        {
            return 1;
        }
        long rank = (long)(_count * Math.Pow(_eta * u - _eta + 1, _alpha));
        return (int)Math.Clamp(rank, 0, _count - 1);
    }

    /// <summary>Σ 1/i^θ for i = 1..n.</summary>
    public static double Zeta(long n, double theta)
    {
        double sum = 0;
        for (long i = 1; i <= n; i++)
        {
            sum += 1 / Math.Pow(i, theta);
        }
        return sum;
    }
}

/// <summary>Inter-arrival gaps: Poisson, or Facebook's generalized Pareto gaps (mutilate's fb_ia), at the offered rate.</summary>
internal sealed class Arrivals
{
    /// <summary>The names <c>--arrivals</c> accepts.</summary>
    public static readonly string[] Names = ["poisson", "fb-ia"];

    /// <summary>fb_ia's shape (mutilate's createFacebookIA: GPD(0, 16.0292 µs, 0.154971)).</summary>
    public const double FacebookShape = 0.154971;

    /// <summary>fb_ia's scale as measured, µs: a mean gap of 18.97 µs (52.7 k requests/s per client).</summary>
    public const double FacebookScaleMicros = 16.0292;

    private readonly bool _pareto;

    private Arrivals(string name, bool pareto)
    {
        Name = name;
        _pareto = pareto;
    }

    /// <summary>poisson or fb-ia.</summary>
    public string Name { get; }

    /// <summary>By name; null when unknown.</summary>
    public static Arrivals? Create(string name) => name.ToLowerInvariant().Replace('_', '-') switch
    {
        "poisson" => new Arrivals("poisson", false),
        "fb-ia" => new Arrivals("fb-ia", true),
        _ => null,
    };

    /// <summary>A gap with mean <paramref name="meanGap"/> (any unit).</summary>
    public double Next(ref Xoshiro256 rng, double meanGap)
    {
        if (!_pareto)
        {
            return rng.NextExponential(meanGap);
        }
        // mutilate's set_lambda: scale = (1 − k)/λ, so the gaps keep fb_ia's shape and have the offered mean.
        var gaps = new GeneralizedPareto(0, (1 - FacebookShape) * meanGap, FacebookShape);
        return gaps.FromUniform(1.0 - rng.NextDouble());
    }
}
