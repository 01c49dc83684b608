// Charts of one run over several worker counts (the model verb): one percentile of slowdown against load,
// a colour per policy and a line pattern per worker count, with the dispatcher's ceiling marked.
using System.Globalization;
using NetStack.Measurement.Reports;
using ScottPlot;

namespace NetStack.Charts;

/// <summary>slowdown-&lt;type&gt;-&lt;percentile&gt;.png for reports whose points span several worker counts.</summary>
internal static class ScalingCharts
{
    /// <summary>The percentiles charted, one chart each: a chart holds one, so policies × worker counts stay readable.</summary>
    public static readonly string[] Percentiles = ["p99", "p99.9"];

    // The most workers get the solid line: they are what the chart is about.
    private static readonly LinePattern[] s_patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.DenselyDashed, LinePattern.Dotted];
    private static readonly MarkerShape[] s_markers = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond];

    /// <summary>True when the loaded points span more than one worker count.</summary>
    public static bool Applies(RunReport report) => Loaded(report).Select(p => p.Workers).Distinct().Count() > 1;

    /// <summary>Renders every type's (all requests' when there are no types) chart per percentile; returns the paths.</summary>
    public static List<string> Render(RunReport report, string dir)
    {
        var paths = new List<string>();
        List<string> types = Loaded(report).SelectMany(p => p.Types).Where(c => c.Count > 0).Select(c => c.Name).Distinct().ToList();
        if (types.Count == 0)
        {
            types.Add(LoadCharts.AllRequests);
        }
        foreach (string type in types)
        {
            foreach (string percentile in Percentiles)
            {
                string path = Path.Combine(dir, $"slowdown-{ChartStyle.FileSafe(type)}-{percentile}.png");
                if (RenderOne(report, type, percentile, path) is { } written)
                {
                    paths.Add(written);
                }
            }
        }
        return paths;
    }

    private static string? RenderOne(RunReport report, string type, string percentile, string path)
    {
        string what = type == LoadCharts.AllRequests ? "all requests" : $"'{type}' requests";
        Plot plot = ChartStyle.NewPlot(report, $"{percentile} slowdown of {what} by worker count",
            "offered load (fraction of capacity); lines stop at drops",
            $"{percentile} slowdown (latency / service time, log scale)");
        List<PointReport> points = Loaded(report);
        List<(string Policy, double Quantum)> policies = points.Select(p => (p.Policy, p.QuantumUs)).Distinct().ToList();
        List<int> workers = points.Select(p => p.Workers).Distinct().OrderDescending().ToList();
        double maxLoad = points.Max(p => p.OfferedLoad);
        var plotted = new List<double>();

        for (int w = 0; w < workers.Count; w++)
        {
            for (int c = 0; c < policies.Count; c++)
            {
                // A point that dropped requests has the queue bound for a tail, not a latency: the line ends before it.
                var series = points
                    .Where(p => p.Workers == workers[w] && p.Policy == policies[c].Policy && p.QuantumUs == policies[c].Quantum && p.Dropped == 0)
                    .Select(p => (p.OfferedLoad, Class: type == LoadCharts.AllRequests ? p.All : p.Types.FirstOrDefault(t => t.Name == type)))
                    .Where(x => x.Class is { Count: > 0 } && ChartStyle.Plottable(x.Class.Slowdown.At(percentile)))
                    .OrderBy(x => x.OfferedLoad)
                    .ToList();
                if (series.Count == 0)
                {
                    continue;
                }
                double[] ys = series.Select(x => x.Class!.Slowdown.At(percentile)).ToArray();
                plotted.AddRange(ys);
                var s = plot.Add.Scatter(series.Select(x => x.OfferedLoad).ToArray(), ys.Select(Math.Log10).ToArray());
                s.Color = ChartStyle.SeriesColor(c);
                s.LinePattern = s_patterns[w % s_patterns.Length];
                s.MarkerShape = s_markers[w % s_markers.Length];
                s.MarkerSize = 6;
                s.LineWidth = 2;
                string policy = policies[c].Quantum > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"{policies[c].Policy} {policies[c].Quantum:0.##}µs")
                    : policies[c].Policy;
                s.LegendText = $"{policy}, {workers[w]} workers";
            }
            AddDispatcherCeiling(plot, report, workers[w], s_patterns[w % s_patterns.Length], maxLoad);
        }
        if (plotted.Count == 0)
        {
            return null;
        }
        List<Slo> slos = ChartStyle.ParseSlos(report)
            .Where(s => s.Metric == "slowdown" && s.Percentile == percentile && (s.TypeName ?? LoadCharts.AllRequests) == type).ToList();
        ChartStyle.AddSloLines(plot, slos);
        plotted.AddRange(slos.Select(s => s.Limit));
        ChartStyle.UseLogScale(plot, plot.Axes.Left);
        ChartStyle.SetLogLimits(plot, plot.Axes.Left, plotted);
        plot.Axes.SetLimitsX(0, maxLoad * 1.08);
        plot.ShowLegend(Edge.Right);
        return ChartStyle.Save(plot, path);
    }

    /// <summary>
    /// A vertical line where the offered rate reaches the dispatcher's ceiling (1e9 / dispatch ns a
    /// second), in load: mean service / (workers × dispatch ns). Past it no policy keeps up; ps gets
    /// there sooner, since each resumption is a dispatch too.
    /// </summary>
    private static void AddDispatcherCeiling(Plot plot, RunReport report, int workers, LinePattern pattern, double maxLoad)
    {
        double dispatchNs = report.Points.FirstOrDefault(p => p.Model is not null)?.Model!.DispatchNs ?? 0;
        double meanNs = report.Workload.MeanServiceUs * 1000;
        if (dispatchNs <= 0 || meanNs <= 0)
        {
            return;
        }
        double load = meanNs / (workers * dispatchNs);
        if (load > maxLoad * 1.05)
        {
            return;
        }
        var line = plot.Add.VerticalLine(load);
        line.Color = Colors.Gray;
        line.LineWidth = 1.5f;
        line.LinePattern = pattern;
        line.LegendText = string.Create(CultureInfo.InvariantCulture, $"dispatcher ceiling, {workers} workers ({1e3 / dispatchNs:0.#} M/s)");
    }

    private static List<PointReport> Loaded(RunReport report) => report.Points.Where(p => !double.IsNaN(p.OfferedLoad)).ToList();
}
