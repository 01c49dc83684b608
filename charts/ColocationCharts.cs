// Charts of colocate runs: cores each app held over time, and batch throughput with LC tail latency per phase.
using NetStack.Measurement.Reports;
using ScottPlot;

namespace NetStack.Charts;

/// <summary>cores-&lt;label&gt;.png per colocated run and batch.png across them.</summary>
internal static class ColocationCharts
{
    /// <summary>Renders cores-&lt;label&gt;.png for every run with a timeline; labels that repeat get a numeric suffix.</summary>
    public static List<string> RenderCores(RunReport report, string dir)
    {
        var paths = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (ColocationRun run in report.Colocations ?? [])
        {
            if (run.Timeline.Count == 0)
            {
                continue;
            }
            string name = ChartStyle.FileSafe(run.Label);
            for (int n = 2; !used.Add(name); n++)
            {
                name = $"{ChartStyle.FileSafe(run.Label)}-{n}";
            }
            paths.Add(RenderCores(report, run, Path.Combine(dir, $"cores-{name}.png")));
        }
        return paths;
    }

    /// <summary>Renders batch.png; null when no run has phases.</summary>
    public static string? RenderBatch(RunReport report, string dir)
    {
        List<ColocationRun> runs = (report.Colocations ?? []).Where(r => r.Phases.Count > 0).ToList();
        if (runs.Count == 0)
        {
            return null;
        }
        // Runs of different patterns have different phases: group bars by phase name, in the order phases first appear.
        List<string> phases = runs.SelectMany(r => r.Phases).Select(p => p.Name).Distinct().ToList();
        Plot plot = ChartStyle.NewPlot(report, "batch throughput and LC p99.9 latency per phase",
            "phase", "batch throughput (units/s)");
        const double groupWidth = 0.8;
        double barWidth = groupWidth / runs.Count;
        var latencies = new List<double>();
        for (int r = 0; r < runs.Count; r++)
        {
            Color color = ChartStyle.SeriesColor(r);
            var bars = new List<Bar>();
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (PhaseReport phase in runs[r].Phases)
            {
                double x = phases.IndexOf(phase.Name) - groupWidth / 2 + (r + 0.5) * barWidth;
                bars.Add(new Bar { Position = x, Value = phase.BatchUnitsPerSecond, Size = barWidth * 0.9, FillColor = color });
                double p999 = phase.Lc.LatencyUs.P999;
                if (phase.Lc.Count > 0 && ChartStyle.Plottable(p999))
                {
                    xs.Add(x);
                    ys.Add(Math.Log10(p999));
                    latencies.Add(p999);
                }
            }
            var barPlot = plot.Add.Bars(bars);
            barPlot.LegendText = $"{runs[r].Label}: batch";
            if (xs.Count > 0)
            {
                var tail = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
                tail.Axes.YAxis = plot.Axes.Right;
                tail.LineWidth = 0;
                tail.MarkerShape = MarkerShape.FilledDiamond;
                tail.MarkerSize = 12;
                // Darker than the bar it sits on, or the marker vanishes into it.
                tail.Color = color.Darken(0.5);
                tail.LegendText = $"{runs[r].Label}: LC p99.9 (right)";
            }
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, phases.Count).Select(i => (double)i).ToArray(), phases.ToArray());
        plot.Axes.SetLimitsX(-0.6, phases.Count - 0.4);
        // Fewer, rounder ticks than ScottPlot's default: a wall of six-digit labels hides the bars.
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { TickDensity = 0.5 };
        // Bars stand on zero; a little headroom above the tallest.
        double maxBatch = runs.SelectMany(r => r.Phases).Max(p => p.BatchUnitsPerSecond);
        plot.Axes.SetLimitsY(0, maxBatch > 0 ? maxBatch * 1.15 : 1, plot.Axes.Left);
        if (latencies.Count > 0)
        {
            plot.Axes.Right.Label.Text = "LC p99.9 latency (µs, log scale)";
            ChartStyle.UseLogScale(plot, plot.Axes.Right);
            ChartStyle.SetLogLimits(plot, plot.Axes.Right, latencies);
        }
        plot.ShowLegend(Edge.Right);
        return ChartStyle.Save(plot, Path.Combine(dir, "batch.png"));
    }

    private static string RenderCores(RunReport report, ColocationRun run, string path)
    {
        string what = $"cores per app, {run.Label} ({run.AllocationPolicy}, {run.Pattern} load)";
        Plot plot = ChartStyle.NewPlot(report, what, "time (s)", "cores held");
        // The run ends at its last phase, not its last sample: hold each app's last count until then.
        double endS = Math.Max(run.Timeline.Max(s => s.TimeUs) / 1e6, run.Phases.Count > 0 ? run.Phases.Max(p => p.EndS) : 0);
        List<string> apps = run.Apps.Select(a => a.Name).Concat(run.Timeline.Select(s => s.App)).Distinct().ToList();
        double maxCores = 0;
        for (int i = 0; i < apps.Count; i++)
        {
            List<CoreSample> samples = run.Timeline.Where(s => s.App == apps[i]).OrderBy(s => s.TimeUs).ToList();
            if (samples.Count == 0)
            {
                continue;
            }
            var xs = samples.Select(s => s.TimeUs / 1e6).Append(endS).ToArray();
            var ys = samples.Select(s => (double)s.Cores).Append((double)samples[^1].Cores).ToArray();
            maxCores = Math.Max(maxCores, Math.Ceiling(samples.Max(s => s.Cores)));
            var line = plot.Add.Scatter(xs, ys);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.Color = ChartStyle.SeriesColor(i);
            // Apps often hold the same count at once; wider lines underneath keep the first apps visible under later ones.
            line.LineWidth = 2 + 2 * (apps.Count - 1 - i);
            line.MarkerSize = 0;
            string priority = run.Apps.FirstOrDefault(a => a.Name == apps[i])?.Priority is { Length: > 0 } p ? $" ({p})" : "";
            line.LegendText = apps[i] + priority;
        }
        foreach (PhaseReport phase in run.Phases.Skip(1))
        {
            // Phase boundaries explain the steps: a load step should be followed by a grant.
            var boundary = plot.Add.VerticalLine(phase.StartS);
            boundary.Color = Colors.Gray;
            boundary.LineWidth = 1;
            boundary.LinePattern = LinePattern.Dotted;
        }
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(-0.2, maxCores + 0.5);
        plot.Axes.SetLimitsX(0, endS > 0 ? endS : 1);
        plot.ShowLegend(Edge.Right);
        return ChartStyle.Save(plot, path);
    }
}
