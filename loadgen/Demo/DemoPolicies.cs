// The demo's policy comparison: the short requests' p50, p90 and untouched p99 under each policy, the model's beside them, with ratios.
using System.Globalization;
using System.Text;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Demo;

/// <summary>
/// What a noisy machine lets one see of the policies: for extreme-bimodal's short requests, the
/// median and p90 (which a few stalls a second barely move) and the p99 of the requests no stall
/// touched, each policy's measured figure beside the queueing model's, with each policy's figure
/// over processor sharing's, quoted with the two figures it divides.
/// </summary>
internal static class DemoPolicies
{
    /// <summary>The request type compared: extreme-bimodal's 99.5 % of 0.5 µs requests.</summary>
    public const string TypeName = "short";

    /// <summary>The policy the others are divided by.</summary>
    public const string Baseline = "ps";

    /// <summary>The load the headline and the quiet-machine line quote (the nearest one run).</summary>
    public const double HeadlineLoad = 0.5;

    /// <summary>One compared figure: its name in the headline, its table's title, and how to read it from a point.</summary>
    private sealed record Metric(string Name, string Title, Func<PointReport, double?> Measured, Func<PointReport, double?> Model);

    private static readonly Metric[] s_metrics =
    [
        new("median", "p50 latency", p => Short(p)?.LatencyUs.P50, p => Short(p)?.LatencyUs.P50),
        new("p90", "p90 latency", p => Short(p)?.LatencyUs.P90, p => Short(p)?.LatencyUs.P90),
        // The model has no stalls: all its requests are untouched.
        new("untouched p99", "untouched p99 latency (requests no stall touched)",
            p => Short(p)?.Untouched is { Count: > 0 } u ? u.LatencyUs.P99 : null, p => Short(p)?.LatencyUs.P99),
    ];

    /// <summary>The summary's section for the sched part (measured points, and the model's beside them).</summary>
    public static void AppendTo(StringBuilder sb, RunReport sched)
    {
        List<PointReport> measured = Measured(sched);
        List<string> policies = measured.Select(p => p.Policy).Distinct().ToList();
        List<double> loads = measured.Select(p => p.OfferedLoad).Distinct().Order().ToList();
        sb.AppendLine("## 1. The policies on extreme-bimodal's short requests (1 worker, synthetic NIC)");
        sb.AppendLine();
        if (Headline(sched) is { } headline)
        {
            sb.AppendLine(headline);
            sb.AppendLine();
        }
        sb.AppendLine($"Latency of the short requests (99.5 % of them, 0.5 µs each), µs, measured; in brackets the queueing model's, fed the same " +
            $"workload and seed and NetStack's measured dispatch and preemption costs, for a machine that never stalls. Each ratio is a policy's " +
            $"measured figure over {Baseline}'s, with the two figures it divides.");
        sb.AppendLine();
        foreach (Metric metric in s_metrics)
        {
            sb.AppendLine($"### {metric.Title}");
            sb.AppendLine();
            var others = policies.Where(p => p != Baseline).ToList();
            sb.AppendLine($"| load | {string.Join(" | ", policies.Select(p => LabelOf(measured, p)))} | " +
                string.Join(" | ", others.Select(p => $"{p} ÷ {Baseline}")) + " |");
            sb.AppendLine("|---:|" + string.Concat(Enumerable.Repeat("---:|", policies.Count + others.Count)));
            foreach (double load in loads)
            {
                var cells = new List<string> { Inv($"{load:0.##}") };
                foreach (string policy in policies)
                {
                    double? value = Find(measured, policy, load) is { } p ? metric.Measured(p) : null;
                    double? model = Find(Models(sched), policy, load) is { } m ? metric.Model(m) : null;
                    cells.Add($"{Figure(value)}{(model is { } v ? $" [{Figure(v)}]" : "")}");
                }
                double? baseline = Find(measured, Baseline, load) is { } b ? metric.Measured(b) : null;
                foreach (string policy in others)
                {
                    cells.Add(Ratio(Find(measured, policy, load) is { } p ? metric.Measured(p) : null, baseline));
                }
                sb.AppendLine($"| {string.Join(" | ", cells)} |");
            }
            sb.AppendLine();
        }
        if (QuietMachineLine(sched) is { } quiet)
        {
            sb.AppendLine(quiet);
            sb.AppendLine();
        }
    }

    /// <summary>
    /// One sentence at the load nearest <see cref="HeadlineLoad"/>: how much lower processor sharing
    /// keeps each figure than c-FCFS, each ratio with its two figures; null when either is missing.
    /// </summary>
    public static string? Headline(RunReport sched)
    {
        List<PointReport> measured = Measured(sched);
        if (NearestLoad(measured) is not { } load || Find(measured, Baseline, load) is not { } ps || Find(measured, "cfcfs", load) is not { } cfcfs)
        {
            return null;
        }
        var parts = new List<string>();
        foreach (Metric metric in s_metrics)
        {
            if (metric.Measured(ps) is { } a && metric.Measured(cfcfs) is { } b && a > 0 && b > 0)
            {
                string how = b >= a ? $"{Times(b / a)} lower" : $"{Times(a / b)} higher";
                parts.Add(parts.Count == 0
                    ? $"{metric.Name} is {how} than under c-FCFS ({Figure(a)} against {Figure(b)} µs)"
                    : $"their {metric.Name} {how} ({Figure(a)} against {Figure(b)} µs)");
            }
        }
        if (parts.Count == 0)
        {
            return null;
        }
        string list = parts.Count == 1 ? parts[0] : $"{string.Join(", ", parts[..^1])} and {parts[^1]}";
        return Inv($"**At load {load:0.##}, under processor sharing (5 µs), the short requests' {list}**, on this machine.");
    }

    /// <summary>
    /// What a quiet machine would show, from the model: at the load nearest <see cref="HeadlineLoad"/>,
    /// the short requests' p99 under processor sharing and c-FCFS, and the highest load each holds
    /// the first SLO at; null without model points.
    /// </summary>
    public static string? QuietMachineLine(RunReport sched)
    {
        List<PointReport> models = Models(sched);
        if (NearestLoad(models) is not { } load || Find(models, Baseline, load) is not { } ps || Find(models, "cfcfs", load) is not { } cfcfs
            || Short(ps)?.LatencyUs.P99 is not { } a || Short(cfcfs)?.LatencyUs.P99 is not { } b || a <= 0)
        {
            return null;
        }
        string line = Inv($"**On a quiet machine** (the model, no stalls): at load {load:0.##} the short requests' p99 would be {Figure(a)} µs under ") +
            Inv($"processor sharing against {Figure(b)} µs under c-FCFS, {Ratio(b, a)} lower");
        SloReport? slo = sched.Slos?.FirstOrDefault() ?? sched.Slo;
        if (slo?.Rows.FirstOrDefault(r => r.Label == ps.Label) is { } psRow && slo.Rows.FirstOrDefault(r => r.Label == cfcfs.Label) is { } cfcfsRow)
        {
            line += $"; processor sharing would hold {slo.Slo} {UpTo(psRow)}, c-FCFS {UpTo(cfcfsRow)}";
        }
        return line + ".";
    }

    private static string UpTo(SloRow row) => row.MaxLoad is { } m ? Inv($"up to load {m:0.##}") : "at none of the loads run";

    private static List<PointReport> Measured(RunReport r) => r.Points.Where(p => p.System == "netstack" && !double.IsNaN(p.OfferedLoad)).ToList();

    private static List<PointReport> Models(RunReport r) => r.Points.Where(p => p.System == "model").ToList();

    private static PointReport? Find(List<PointReport> points, string policy, double load) =>
        points.FirstOrDefault(p => p.Policy == policy && Math.Abs(p.OfferedLoad - load) < 1e-9);

    private static double? NearestLoad(List<PointReport> points) =>
        points.Count == 0 ? null : points.Select(p => p.OfferedLoad).MinBy(l => Math.Abs(l - HeadlineLoad));

    private static ClassReport? Short(PointReport p) => p.Types.FirstOrDefault(t => t.Name == TypeName) is { Count: > 0 } t ? t : null;

    private static string LabelOf(List<PointReport> points, string policy) => points.First(p => p.Policy == policy).Label;

    /// <summary>A figure to three significant digits or so: 0.62, 10.6, 192.</summary>
    public static string Figure(double? v) => v switch
    {
        null => "–",
        >= 100 => Inv($"{v:0}"),
        >= 10 => Inv($"{v:0.#}"),
        _ => Inv($"{v:0.##}"),
    };

    /// <summary>"18× (192 / 10.6)": the ratio, then the two figures it divides, as printed; "–" when either is missing.</summary>
    public static string Ratio(double? numerator, double? denominator) =>
        numerator is { } n && denominator is { } d && d > 0 ? $"{Times(n / d)} ({Figure(n)} / {Figure(d)})" : "–";

    private static string Times(double r) => r >= 10 ? Inv($"{r:0}×") : Inv($"{r:0.#}×");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
