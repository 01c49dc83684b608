// report.md's comparison with queueing theory: measured p50, p99 and mean against the closed forms, all requests and untouched.
using System.Globalization;
using System.Text;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;
using static NetStack.LoadGen.Reports.MarkdownText;

namespace NetStack.LoadGen.Reports;

/// <summary>
/// Where a point's workload, policy and worker count have a closed form, the ratio of the measured
/// figures to it, over all requests and over the untouched ones: the nearer 1, the less the
/// implementation and the machine add to the ideal queue. M/M/1 (a single exponential type, one
/// worker, c-FCFS or d-FCFS): p50, p99 and mean; M/D/1 (a single fixed type): the same, p99 while
/// the closed form is exact enough; M/G/1 (any other workload, one worker): the mean by
/// Pollaczek–Khinchine; M/M/c (exponential, several workers, c-FCFS): the mean by Erlang C.
/// </summary>
internal static class TheorySection
{
    /// <summary>One closed-form figure for one point.</summary>
    /// <param name="Model">M/M/1, M/D/1, M/G/1 (P–K), M/M/c.</param>
    /// <param name="Statistic">p50, p99 or mean.</param>
    /// <param name="TheoryUs">The closed form's value, µs.</param>
    public readonly record struct TheoryFigure(string Model, string Statistic, double TheoryUs);

    /// <summary>The closed-form figures for a point (none when its configuration has no closed form).</summary>
    public static List<TheoryFigure> For(PointReport p, Workload w)
    {
        var figures = new List<TheoryFigure>();
        double rho = p.OfferedLoad;
        if (p.System == "model" || !double.IsFinite(rho) || rho <= 0 || rho >= 1 || w.MeanServiceNs <= 0)
        {
            return figures;
        }
        bool fifo = p.Policy is "cfcfs" or "dfcfs";
        bool single = w.Types.Count == 1;
        double s = w.MeanServiceNs;
        if (p.Workers == 1 && fifo)
        {
            if (single && w.Types[0].Shape == ServiceShape.Exponential)
            {
                figures.Add(new("M/M/1", "p50", ClosedForms.MM1ResponseQuantileNs(rho, s, 0.5) / 1000));
                figures.Add(new("M/M/1", "p99", ClosedForms.MM1ResponseQuantileNs(rho, s, 0.99) / 1000));
                figures.Add(new("M/M/1", "mean", ClosedForms.MM1MeanResponseNs(rho, s) / 1000));
            }
            else if (single && w.Types[0].Shape == ServiceShape.Fixed)
            {
                figures.Add(new("M/D/1", "p50", ClosedForms.MD1ResponseQuantileNs(rho, s, 0.5) / 1000));
                figures.Add(new("M/D/1", "p99", ClosedForms.MD1ResponseQuantileNs(rho, s, 0.99) / 1000));
                figures.Add(new("M/D/1", "mean", ClosedForms.MD1MeanResponseNs(rho, s) / 1000));
            }
            else
            {
                figures.Add(new("M/G/1 (P–K)", "mean", ClosedForms.MG1MeanResponseNs(rho, w) / 1000));
            }
        }
        else if (p.Workers > 1 && p.Policy == "cfcfs" && single && w.Types[0].Shape == ServiceShape.Exponential)
        {
            figures.Add(new($"M/M/{p.Workers}", "mean", (s + ClosedForms.MMcMeanWaitNs(p.Workers, rho, s)) / 1000));
        }
        return figures;
    }

    /// <summary>Appends the section when some point has a closed form.</summary>
    public static void Append(StringBuilder sb, RunReport r)
    {
        if (!Workload.TryGet(r.Workload.Name, out Workload? w))
        {
            return;
        }
        var rows = r.Points.SelectMany(p => For(p, w).Select(f => (Point: p, Figure: f))).Where(x => x.Point.All.Count > 0).ToList();
        if (rows.Count == 0)
        {
            return;
        }
        Section(sb, "Against queueing theory", "Latency of all requests, µs, against the closed form for this workload, policy and worker count at the offered load " +
            "(M/M/1 and M/D/1: one worker, first come first served; M/G/1: the mean by Pollaczek–Khinchine; M/M/c: the mean by Erlang C); " +
            "ratio = measured / theory, over all requests and over the untouched ones (no stall in their busy period). " +
            "The theory has no dispatcher, no network and no machine: a ratio near 1 untouched and far above it over all requests puts the tail on the machine.");
        sb.AppendLine("| system | load | theory | statistic | theory µs | all µs | all / theory | untouched µs | untouched / theory |");
        sb.AppendLine("|---|---:|---|---|---:|---:|---:|---:|---:|");
        foreach ((PointReport p, TheoryFigure f) in rows)
        {
            double all = Pick(p.All.LatencyUs, f.Statistic);
            double? untouched = p.All.Untouched is { Count: > 0 } u ? Pick(u.LatencyUs, f.Statistic) : null;
            string theory = double.IsFinite(f.TheoryUs) ? Inv($"{f.TheoryUs:0.##}") : "–";
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {f.Model} | {f.Statistic} | {theory} | {all:0.##} | {Ratio(all, f.TheoryUs)} | {Text(untouched)} | {(untouched is { } v ? Ratio(v, f.TheoryUs) : "–")} |"));
        }
    }

    private static double Pick(Summary s, string statistic) => statistic == "mean" ? s.Mean : s.At(statistic);

    private static string Ratio(double measured, double theory) => double.IsFinite(theory) && theory > 0 ? Inv($"{measured / theory:0.##}×") : "–";

    private static string Text(double? v) => v is { } x ? Inv($"{x:0.##}") : "–";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
