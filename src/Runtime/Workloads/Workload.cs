// The standard service-time distributions of the literature (WORKLOADS.md), by name.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Workloads;

/// <summary>How one request type's service time is drawn.</summary>
internal enum ServiceShape
{
    /// <summary>Always the mean.</summary>
    Fixed,
    /// <summary>Exponential around the mean.</summary>
    Exponential,
}

/// <summary>One request type of a workload: a class reported apart in every result.</summary>
/// <param name="Name">The type's name in reports (short, long, GET, SCAN, ...).</param>
/// <param name="Weight">Its share of requests (the weights of a workload add up to 1).</param>
/// <param name="MeanNs">Its mean service time, in ns.</param>
/// <param name="Shape">How its service time is drawn.</param>
internal sealed record RequestType(string Name, double Weight, double MeanNs, ServiceShape Shape = ServiceShape.Fixed);

/// <summary>A named service-time distribution: a mix of request types.</summary>
internal sealed class Workload
{
    private readonly double[] _cumulative;

    /// <summary>A workload from its types; weights are normalized.</summary>
    public Workload(string name, string description, params RequestType[] types)
    {
        if (types.Length == 0)
        {
            throw new ArgumentException("a workload needs at least one request type", nameof(types));
        }
        Name = name;
        Description = description;
        Types = types;
        double total = types.Sum(t => t.Weight);
        _cumulative = new double[types.Length];
        double acc = 0;
        for (int i = 0; i < types.Length; i++)
        {
            acc += types[i].Weight / total;
            _cumulative[i] = acc;
        }
        _cumulative[^1] = 1.0;
        MeanServiceNs = types.Sum(t => t.Weight / total * t.MeanNs);
    }

    /// <summary>Its name (as in WORKLOADS.md).</summary>
    public string Name { get; }

    /// <summary>One line on what it is.</summary>
    public string Description { get; }

    /// <summary>Its request types.</summary>
    public IReadOnlyList<RequestType> Types { get; }

    /// <summary>Mean service time over all types, in ns.</summary>
    public double MeanServiceNs { get; }

    /// <summary>Arrival rate (requests/s) that offers <paramref name="load"/> of <paramref name="workers"/> cores.</summary>
    public double RateFor(double load, int workers) =>
        MeanServiceNs <= 0 ? double.PositiveInfinity : load * workers * 1e9 / MeanServiceNs;

    /// <summary>Draws a request: its type, and its service time in ns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Sample(ref Xoshiro256 rng, out int type)
    {
        int t = 0;
        if (_cumulative.Length > 1)
        {
            double u = rng.NextDouble();
            while (t < _cumulative.Length - 1 && u >= _cumulative[t])
            {
                t++;
            }
        }
        type = t;
        RequestType rt = Types[t];
        return rt.Shape == ServiceShape.Fixed
            ? (long)rt.MeanNs
            : (long)rng.NextExponential(rt.MeanNs);
    }

    /// <summary>Every standard workload.</summary>
    public static IReadOnlyList<Workload> All { get; } =
    [
        new("fixed-1", "every request 1 µs", new RequestType("req", 1, 1_000)),
        new("exp-1", "exponential, mean 1 µs", new RequestType("req", 1, 1_000, ServiceShape.Exponential)),
        new("exp-10", "exponential, mean 10 µs (Shenango's spin server)", new RequestType("req", 1, 10_000, ServiceShape.Exponential)),
        new("high-bimodal", "50% 1 µs, 50% 100 µs", new RequestType("short", 0.5, 1_000), new RequestType("long", 0.5, 100_000)),
        new("extreme-bimodal", "99.5% 0.5 µs, 0.5% 500 µs", new RequestType("short", 0.995, 500), new RequestType("long", 0.005, 500_000)),
        new("rocksdb-bimodal", "99.5% 4 µs, 0.5% 10 ms (ghOSt, Skyloft)", new RequestType("short", 0.995, 4_000), new RequestType("long", 0.005, 10_000_000)),
        new("tpcc", "TPC-C: 44% 5.7 µs, 4% 6 µs, 44% 20 µs, 4% 88 µs, 4% 100 µs",
            new RequestType("payment", 0.44, 5_700), new RequestType("order-status", 0.04, 6_000),
            new RequestType("new-order", 0.44, 20_000), new RequestType("delivery", 0.04, 88_000),
            new RequestType("stock-level", 0.04, 100_000)),
        new("getscan", "50% GET 1.5 µs, 50% SCAN 635 µs", new RequestType("GET", 0.5, 1_500), new RequestType("SCAN", 0.5, 635_000)),
        new("getscan-0.5", "99.5% GET 1.5 µs, 0.5% SCAN 635 µs (Shinjuku's RocksDB mix)",
            new RequestType("GET", 0.995, 1_500), new RequestType("SCAN", 0.005, 635_000)),
        new("zero", "every request 0 µs: measures the dispatcher alone", new RequestType("req", 1, 0)),
    ];

    /// <summary>The names, comma-separated, for error messages.</summary>
    public static string Names => string.Join(", ", All.Select(w => w.Name));

    /// <summary>Finds a workload by name (case-insensitive).</summary>
    public static bool TryGet(string name, [NotNullWhen(true)] out Workload? workload)
    {
        workload = All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
        return workload is not null;
    }
}
