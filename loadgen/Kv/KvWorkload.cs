// The key-value workloads of WORKLOADS.md by name (usr, etc), with the long request (an N-key multiget) mixed in.
using System.Globalization;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Kv;

/// <summary>The operation types the kv verb sends; each is its own class in the results.</summary>
internal static class KvOp
{
    /// <summary>A one-key get.</summary>
    public const byte Get = 0;
    /// <summary>A set of one key.</summary>
    public const byte Set = 1;
    /// <summary>A get of <see cref="KvWorkload.LongKeys"/> keys in one request: the long request.</summary>
    public const byte Multiget = 2;

    /// <summary>Names in reports, by type.</summary>
    public static readonly string[] Names = ["get", "set", "multiget"];
}

/// <summary>
/// A named key-value workload (Atikoglu et al., SIGMETRICS'12, as mutilate runs it): key and value
/// sizes and the GET:SET mix, plus the long request: a share of multigets of N keys.
/// </summary>
internal sealed class KvWorkload
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static readonly string[] Names = ["usr", "etc"];

    private KvWorkload(string name, string description, KeySizes keys, ValueSizes values, double setFraction)
    {
        Name = name;
        Description = description;
        Keys = keys;
        Values = values;
        SetFraction = setFraction;
    }

    /// <summary>usr or etc.</summary>
    public string Name { get; }

    /// <summary>One line on the sizes and mix.</summary>
    public string Description { get; }

    /// <summary>Key sizes.</summary>
    public KeySizes Keys { get; }

    /// <summary>Value sizes (of the loaded values and of every SET).</summary>
    public ValueSizes Values { get; }

    /// <summary>Share of single-key requests that are SETs.</summary>
    public double SetFraction { get; private init; }

    /// <summary>Share of all requests that are multigets (the long request).</summary>
    public double LongFraction { get; private init; }

    /// <summary>Keys per multiget.</summary>
    public int LongKeys { get; private init; } = 100;

    /// <summary>The request types present, in type order (get, set, then multiget when mixed in).</summary>
    public int TypeCount => LongFraction > 0 ? 3 : 2;

    /// <summary>The workload by name; null when unknown.</summary>
    public static KvWorkload? Create(string name) => name.ToLowerInvariant() switch
    {
        // ZygOS's and IX's memcached runs: mutilate --keysize=19 --valuesize=2 --update=0.002.
        "usr" => new KvWorkload("usr", "Facebook USR: 19-byte keys, 2-byte values, 99.8 % GET, 0.2 % SET",
            KeySizes.Fixed(19), ValueSizes.Fixed(2), 0.002),
        // mutilate --keysize=fb_key --valuesize=fb_value; GET:SET 30:1.
        "etc" => new KvWorkload("etc",
            "Facebook ETC: keys GEV(30.7984, 8.20449, 0.078688) in 1..250 bytes, values mutilate's fb_value head (0-14 bytes) " +
            "then 15 + GPD(214.476, 0.348238) up to 1 MiB, GET:SET 30:1",
            KeySizes.Etc(), ValueSizes.Etc(), 1.0 / 31),
        _ => null,
    };

    /// <summary>This workload with <paramref name="fraction"/> of requests made multigets of <paramref name="keys"/> keys.</summary>
    public KvWorkload WithLong(double fraction, int keys) => new(Name, Description, Keys, Values, SetFraction)
    {
        LongFraction = fraction,
        LongKeys = keys,
    };

    /// <summary>This workload with GETs only (UDP: memcached's UDP carries gets; values were loaded over TCP).</summary>
    public KvWorkload GetsOnly() => new(Name, Description, Keys, Values, 0) { LongFraction = LongFraction, LongKeys = LongKeys };

    /// <summary>Draws an operation type.</summary>
    public byte NextOp(ref Xoshiro256 rng)
    {
        double u = rng.NextDouble();
        if (u < LongFraction)
        {
            return KvOp.Multiget;
        }
        // The rest of the draw decides get or set, so the set share holds among single-key requests.
        double v = LongFraction > 0 ? (u - LongFraction) / (1 - LongFraction) : u;
        return v < SetFraction ? KvOp.Set : KvOp.Get;
    }

    /// <summary>
    /// The report's view: its request types and shares. The service time of a kv request is the
    /// server's business, so the mean is 0 and no slowdown is recorded; load comes from --capacity-rps.
    /// </summary>
    public Workload ToReportWorkload()
    {
        double single = 1 - LongFraction;
        var types = new List<RequestType>
        {
            new(KvOp.Names[KvOp.Get], single * (1 - SetFraction), 0),
            new(KvOp.Names[KvOp.Set], single * SetFraction, 0),
        };
        if (LongFraction > 0)
        {
            types.Add(new RequestType(KvOp.Names[KvOp.Multiget], LongFraction, 0));
        }
        string longPart = LongFraction > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; {LongFraction:P2} multigets of {LongKeys} keys")
            : "";
        return new Workload(Name, Description + longPart, [.. types]);
    }
}
