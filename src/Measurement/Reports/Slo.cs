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

    /// <summary>The measured value this SLO reads from a point, over all its requests or, with
    /// <paramref name="untouched"/>, over those no stall touched (NaN when the point has no such
    /// class or no data).</summary>
    public double Measure(PointReport point, bool untouched = false)
    {
        ClassReport? c = TypeName is null ? point.All : point.Types.FirstOrDefault(t => t.Name == TypeName);
        if (c is null || c.Count == 0)
        {
            return double.NaN;
        }
        if (untouched)
        {
            if (c.Untouched is not { Count: > 0 } u)
            {
                return double.NaN;
            }
            return (Metric == "slowdown" ? u.Slowdown : u.LatencyUs).At(Percentile);
        }
        return (Metric == "slowdown" ? c.Slowdown : c.LatencyUs).At(Percentile);
    }

    /// <summary>
    /// True when the point holds the SLO: the measured latency (all requests, or the untouched ones)
    /// is within the bound, and the server answered every request it was sent: none dropped or
    /// rejected (a server that sheds load fast must not pass on the latency of the few it kept),
    /// none unanswered by it, none unfinished. What the generator did not do (fall behind its
    /// schedule, leave requests unsent, lose answers in its own socket) is flagged on the point
    /// (<see cref="PointReport.GeneratorFlags"/>), never counted as the server's miss.
    /// </summary>
    public bool HeldBy(PointReport point, bool untouched = false)
    {
        double v = Measure(point, untouched);
        return !double.IsNaN(v) && v <= Limit && ServerAnsweredAll(point);
    }

    /// <summary>Nothing the server was sent went without its answer: none dropped or rejected by it,
    /// none it left unanswered, none unfinished.</summary>
    public static bool ServerAnsweredAll(PointReport point) =>
        point.Unfinished == 0 && point.Dropped == 0 && (point.Rejected ?? 0) == 0 && (point.UnansweredByServer ?? 0) == 0;

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
    /// lucky point above a miss cannot pass unnoticed; judged over all requests and, where the
    /// points have them, over the requests no stall touched; and the loads whose generator was
    /// flagged, whatever the verdict.
    /// </summary>
    public static SloReport Evaluate(Slo slo, IEnumerable<PointReport> points)
    {
        var report = new SloReport { Slo = slo.Text };
        foreach (IGrouping<string, PointReport> group in points.GroupBy(p => p.Label))
        {
            List<PointReport> loaded = group.Where(p => !double.IsNaN(p.OfferedLoad)).OrderBy(p => p.OfferedLoad).ToList();
            SloVerdict all = SloVerdict.Of(slo, loaded, untouched: false);
            var row = new SloRow
            {
                Label = group.Key,
                MaxLoad = all.MaxLoad,
                MaxRps = all.MaxRps,
                ValueAtMax = all.ValueAtMax,
                MissedBelow = all.MissedBelow,
                Untouched = loaded.Any(p => !double.IsNaN(slo.Measure(p, untouched: true))) ? SloVerdict.Of(slo, loaded, untouched: true) : null,
                Flagged = loaded.Where(p => p.GeneratorFlags is not null)
                    .Select(p => new FlaggedLoad { Load = p.OfferedLoad, Flags = p.GeneratorFlags! })
                    .ToList(),
            };
            report.Rows.Add(row);
        }
        return report;
    }
}

/// <summary>Where one system held an SLO, over one set of its requests.</summary>
public sealed class SloVerdict
{
    /// <summary>Highest offered load (fraction of capacity) whose point held the SLO; null when none did.</summary>
    public double? MaxLoad { get; set; }
    /// <summary>The same, in requests/s.</summary>
    public double? MaxRps { get; set; }
    /// <summary>The measured value there.</summary>
    public double? ValueAtMax { get; set; }
    /// <summary>Lower loads whose points missed it.</summary>
    public List<double> MissedBelow { get; set; } = [];

    /// <summary>The verdict over <paramref name="loaded"/> (one system's points, by load).</summary>
    public static SloVerdict Of(Slo slo, List<PointReport> loaded, bool untouched)
    {
        PointReport? best = loaded.LastOrDefault(p => slo.HeldBy(p, untouched));
        return new SloVerdict
        {
            MaxLoad = best?.OfferedLoad,
            MaxRps = best?.OfferedRps,
            ValueAtMax = best is null ? null : slo.Measure(best, untouched),
            MissedBelow = best is null ? [] : loaded.Where(p => p.OfferedLoad < best.OfferedLoad && !slo.HeldBy(p, untouched)).Select(p => p.OfferedLoad).ToList(),
        };
    }
}

/// <summary>A load whose generator did not do all it was scheduled to: flagged beside the verdict, not part of it.</summary>
public sealed class FlaggedLoad
{
    /// <summary>The offered load.</summary>
    public double Load { get; set; }
    /// <summary>What the generator did not do (<see cref="PointReport.GeneratorFlags"/>).</summary>
    public string Flags { get; set; } = "";
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
    /// <summary>The same SLO over the requests no stall touched (null: the points have no untouched figures).</summary>
    public SloVerdict? Untouched { get; set; }
    /// <summary>Loads whose generator was flagged (behind its schedule, requests unsent, answers lost in its
    /// own socket): judged on latency all the same, and shown.</summary>
    public List<FlaggedLoad> Flagged { get; set; } = [];
}
