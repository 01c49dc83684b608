// The size and gap distributions of Atikoglu et al. (SIGMETRICS'12) as mutilate parameterizes them: GEV keys, GPD values and gaps.
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// The generalized extreme value distribution, drawn by its quantile function
/// x = μ + σ((−ln u)^(−ξ) − 1)/ξ (ξ ≠ 0). Facebook's ETC key sizes follow it (μ 30.7984, σ 8.20449, ξ 0.078688).
/// </summary>
internal readonly record struct GeneralizedExtremeValue(double Location, double Scale, double Shape)
{
    /// <summary>The value at cumulative probability <paramref name="u"/> (0 &lt; u &lt; 1).</summary>
    public double Quantile(double u) => Location + Scale * (Math.Pow(-Math.Log(u), -Shape) - 1) / Shape;
}

/// <summary>
/// The generalized Pareto distribution, drawn by x = μ + σ(u^(−k) − 1)/k with u uniform on (0, 1]
/// (k ≠ 0); its mean is μ + σ/(1 − k) for k &lt; 1. Facebook's ETC value tail (μ 15, σ 214.476,
/// k 0.348238) and its inter-arrival gaps (μ 0, σ 16.0292 µs, k 0.154971) follow it.
/// </summary>
internal readonly record struct GeneralizedPareto(double Location, double Scale, double Shape)
{
    /// <summary>A draw from <paramref name="u"/>, uniform on (0, 1].</summary>
    public double FromUniform(double u) => Location + Scale * (Math.Pow(u, -Shape) - 1) / Shape;

    /// <summary>Its mean (finite for shape &lt; 1).</summary>
    public double Mean => Location + Scale / (1 - Shape);
}

/// <summary>How a kv workload sizes values: a fixed size, or ETC's discrete head and Pareto tail.</summary>
internal sealed class ValueSizes
{
    // mutilate's fb_value head (Generator.cc, createFacebookValue): P(size = index), for the sizes
    // 0..14 the paper's figure shows as spikes; the rest of the mass (55.8 %) is the tail.
    private static readonly double[] s_etcHead =
    [
        0.00536, 0.00047, 0.17820, 0.09239, 0.00018, 0.02740, 0.00065, 0.00606,
        0.00023, 0.00837, 0.00837, 0.08989, 0.00092, 0.00326, 0.01980,
    ];

    private readonly int _fixed;
    private readonly double[] _headCumulative;
    private readonly GeneralizedPareto _tail;

    private ValueSizes(int fixedBytes, double[] head, GeneralizedPareto tail, int maxBytes)
    {
        _fixed = fixedBytes;
        _tail = tail;
        MaxBytes = maxBytes;
        _headCumulative = new double[head.Length];
        double acc = 0;
        for (int i = 0; i < head.Length; i++)
        {
            acc += head[i];
            _headCumulative[i] = acc;
        }
    }

    /// <summary>The largest value this distribution draws, bytes.</summary>
    public int MaxBytes { get; }

    /// <summary>The share of values drawn from the discrete head (0 for fixed sizes).</summary>
    public double HeadShare => _headCumulative.Length == 0 ? 0 : _headCumulative[^1];

    /// <summary>Every value <paramref name="bytes"/> long.</summary>
    public static ValueSizes Fixed(int bytes) => new(bytes, [], default, bytes);

    /// <summary>ETC's values: the head of sizes 0..14 (about 44 %), else 15 + a generalized Pareto tail, at most 1 MiB.</summary>
    public static ValueSizes Etc() => new(-1, s_etcHead, new GeneralizedPareto(15, 214.476, 0.348238), 1 << 20);

    /// <summary>A value size, bytes.</summary>
    public int Next(ref Xoshiro256 rng)
    {
        if (_fixed >= 0)
        {
            return _fixed;
        }
        double u = rng.NextDouble();
        for (int i = 0; i < _headCumulative.Length; i++)
        {
            if (u < _headCumulative[i])
            {
                return i;
            }
        }
        // The tail takes a fresh uniform, as mutilate's Discrete hands its default generator one;
        // sizes are whole bytes, truncated as mutilate's int conversion truncates.
        double size = _tail.FromUniform(1.0 - rng.NextDouble());
        return (int)Math.Min(size, MaxBytes);
    }
}

/// <summary>How a kv workload sizes keys: fixed, or ETC's generalized extreme value distribution.</summary>
internal sealed class KeySizes
{
    /// <summary>memcached's longest key.</summary>
    public const int MaxKeyBytes = 250;

    private readonly int _fixed;
    private readonly GeneralizedExtremeValue _gev;

    private KeySizes(int fixedBytes, GeneralizedExtremeValue gev)
    {
        _fixed = fixedBytes;
        _gev = gev;
    }

    /// <summary>True when every key has the same size.</summary>
    public bool IsFixed => _fixed > 0;

    /// <summary>Every key <paramref name="bytes"/> long.</summary>
    public static KeySizes Fixed(int bytes) => new(bytes, default);

    /// <summary>ETC's keys: GEV(30.7984, 8.20449, 0.078688), rounded, at least 1 byte and at most 250.</summary>
    public static KeySizes Etc() => new(0, new GeneralizedExtremeValue(30.7984, 8.20449, 0.078688));

    /// <summary>The size of a key whose uniform draw is <paramref name="u"/> (0 &lt; u &lt; 1).</summary>
    public int FromUniform(double u) => _fixed > 0
        ? _fixed
        : (int)Math.Clamp(Math.Round(_gev.Quantile(u)), 1, MaxKeyBytes);
}
