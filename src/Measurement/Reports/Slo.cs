// Service-level objectives: parsing "p99.9-slowdown<=50" and finding the highest load that holds it.
using System.Globalization;
using System.Text.RegularExpressions;

namespace NetStack.Measurement.Reports;

/// <summary>An SLO on one percentile of latency (µs) or slowdown, for all requests or one type.</summary>
/// <param name="Text">As given.</param>
/// <param name="TypeName">A request type, or null for all requests.</param>
/// <param name="Percentile">p50, p99 or p99.9.</param>
/// <param name="Metric">slowdown or latency (µs).</param>
/// <param name="Limit">The bound (inclusive).</param>
public sealed partial record Slo(string Text, string? TypeName, string Percentile, string Metric, double Limit)
{
    /// <summary>What <see cref="Parse"/> accepts.</summary>
    public const string Syntax = "[TYPE:]p50|p99|p99.9-slowdown|latency<=N (latency in µs), e.g. \"p99.9-slowdown<=50\" or \"short:p99-latency<=100\"";

    /// <summary>Parses an SLO; throws <see cref="FormatException"/> naming the syntax.</summary>
    public static Slo Parse(string text)
    {
        Match m = SloPattern().Match(text.Replace(" ", "", StringComparison.Ordinal));
        if (!m.Success || !double.TryParse(m.Groups["limit"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double limit))
        {
            throw new FormatException($"bad SLO '{text}'; expected {Syntax}");
        }
        string? type = m.Groups["type"].Success ? m.Groups["type"].Value : null;
        return new Slo(text, type, m.Groups["pct"].Value, m.Groups["metric"].Value, limit);
    }

    /// <summary>The measured value this SLO reads from a point (NaN when the point has no such class or no data).</summary>
    public double Measure(PointReport point)
    {
        ClassReport? c = TypeName is null ? point.All : point.Types.FirstOrDefault(t => t.Name == TypeName);
        if (c is null || c.Count == 0)
        {
            return double.NaN;
        }
        Summary s = Metric == "slowdown" ? c.Slowdown : c.LatencyUs;
        return s.At(Percentile);
    }

    /// <summary>True when the point holds the SLO: measured, within the bound, and every request
    /// served: none dropped or rejected (a server that sheds load fast must not pass on the
    /// latency of the few it kept), lost or unfinished, and the generator kept its schedule.</summary>
    public bool HeldBy(PointReport point)
    {
        double v = Measure(point);
        return !double.IsNaN(v) && v <= Limit && point.Unfinished == 0 && point.Dropped == 0
            && (point.Rejected ?? 0) == 0 && (point.Lost ?? 0) == 0 && point.GeneratorFellBehind != true;
    }

    [GeneratedRegex(@"^(?:(?<type>[A-Za-z0-9_\-\.]+):)?(?<pct>p50|p99\.9|p99)-(?<metric>slowdown|latency)<=(?<limit>[0-9.eE+]+)$")]
    private static partial Regex SloPattern();
}

/// <summary>The SLO evaluation of a run.</summary>
public sealed class SloReport
{
    /// <summary>The SLO as given.</summary>
    public string Slo { get; set; } = "";
    /// <summary>One row per system and policy.</summary>
    public List<SloRow> Rows { get; set; } = [];

    /// <summary>
    /// For each system/policy label, the highest offered load whose point held the SLO
    /// (WORKLOADS.md's headline figure), with the lower loads that missed it listed beside, so a
    /// lucky point above a miss cannot pass unnoticed.
    /// </summary>
    public static SloReport Evaluate(Slo slo, IEnumerable<PointReport> points)
    {
        var report = new SloReport { Slo = slo.Text };
        foreach (IGrouping<string, PointReport> group in points.GroupBy(p => p.Label))
        {
            List<PointReport> loaded = group.Where(p => !double.IsNaN(p.OfferedLoad)).OrderBy(p => p.OfferedLoad).ToList();
            PointReport? best = loaded.LastOrDefault(slo.HeldBy);
            report.Rows.Add(new SloRow
            {
                Label = group.Key,
                MaxLoad = best?.OfferedLoad,
                MaxRps = best?.OfferedRps,
                ValueAtMax = best is null ? null : slo.Measure(best),
                MissedBelow = best is null ? [] : loaded.Where(p => p.OfferedLoad < best.OfferedLoad && !slo.HeldBy(p)).Select(p => p.OfferedLoad).ToList(),
            });
        }
        return report;
    }
}

/// <summary>One system's result against an SLO.</summary>
public sealed class SloRow
{
    /// <summary>System and policy.</summary>
    public string Label { get; set; } = "";
    /// <summary>Highest offered load (fraction of capacity) whose point held the SLO; null when none did.</summary>
    public double? MaxLoad { get; set; }
    /// <summary>Lower loads whose points missed it (noise, or a curve that is not monotonic).</summary>
    public List<double> MissedBelow { get; set; } = [];
    /// <summary>The same, in requests/s.</summary>
    public double? MaxRps { get; set; }
    /// <summary>The measured value there.</summary>
    public double? ValueAtMax { get; set; }
}
