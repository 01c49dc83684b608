// Charts against offered load: latency of all requests, and slowdown per request type, one line per system
// (the queueing model's beside them, in its measured twin's colour, without markers; the tails over the
// requests no stall touched beside the all-request ones, in the same colour, with hollow markers).
using NetStack.Measurement.Reports;
using ScottPlot;

namespace NetStack.Charts;

/// <summary>latency.png and slowdown-&lt;type&gt;.png: percentiles against offered load, one colour per system.</summary>
internal static class LoadCharts
{
    /// <summary>The class that stands for all requests, in reports and in file names.</summary>
    public const string AllRequests = "all";

    // Tails matter most, so p99.9 gets the solid line; the median is context.
    private static readonly (string Name, LinePattern Pattern, MarkerShape Marker)[] s_latencyPercentiles =
    [
        ("p50", LinePattern.Dotted, MarkerShape.OpenCircle),
        ("p99", LinePattern.Dashed, MarkerShape.FilledSquare),
        ("p99.9", LinePattern.Solid, MarkerShape.FilledCircle),
    ];

    private static readonly (string Name, LinePattern Pattern, MarkerShape Marker)[] s_slowdownPercentiles =
    [
        ("p99", LinePattern.Dashed, MarkerShape.FilledSquare),
        ("p99.9", LinePattern.Solid, MarkerShape.FilledCircle),
    ];

    /// <summary>Renders latency.png into <paramref name="dir"/>; null when no point has an offered load and latencies.</summary>
    public static string? RenderLatency(RunReport report, string dir) =>
        LatencyPlot(report) is { } plot ? ChartStyle.Save(plot, Path.Combine(dir, "latency.png")) : null;

    /// <summary>latency.png's plot, before it is saved (null: nothing to draw).</summary>
    internal static Plot? LatencyPlot(RunReport report)
    {
        Plot plot = ChartStyle.NewPlot(report, "latency of all requests against offered load" + UntouchedNote(report),
            "offered load (fraction of capacity)", "latency (µs, log scale)");
        // A latency SLO on one type has no place on the all-requests chart: its line would invite the wrong comparison.
        List<Slo> lines = ChartStyle.ParseSlos(report).Where(s => s is { Metric: "latency", TypeName: null }).ToList();
        return Draw(report, plot, p => p.All, c => c.LatencyUs, u => u.LatencyUs, s_latencyPercentiles, lines);
    }

    /// <summary>
    /// Renders slowdown-&lt;type&gt;.png for every request type with data, and slowdown-all.png when the
    /// SLO is a slowdown SLO on all requests (its line belongs there) or the report has no per-type data.
    /// </summary>
    public static List<string> RenderSlowdown(RunReport report, string dir)
    {
        var paths = new List<string>();
        List<Slo> slowdownSlos = ChartStyle.ParseSlos(report).Where(s => s.Metric == "slowdown").ToList();
        List<string> types = report.Points
            .Where(p => !double.IsNaN(p.OfferedLoad))
            .SelectMany(p => p.Types)
            .Where(c => c.Count > 0)
            .Select(c => c.Name)
            .Distinct()
            .ToList();
        if (types.Count == 0 || slowdownSlos.Any(s => s.TypeName is null))
        {
            types.Insert(0, AllRequests);
        }
        foreach (string type in types)
        {
            string what = type == AllRequests
                ? "slowdown of all requests against offered load"
                : $"slowdown of '{type}' requests against offered load";
            Plot plot = ChartStyle.NewPlot(report, what + UntouchedNote(report), "offered load (fraction of capacity)",
                "slowdown (latency / service time, log scale)");
            List<Slo> lines = slowdownSlos.Where(s => (s.TypeName ?? AllRequests) == type).ToList();
            string path = Path.Combine(dir, $"slowdown-{ChartStyle.FileSafe(type)}.png");
            Func<PointReport, ClassReport?> pick = type == AllRequests
                ? p => p.All
                : p => p.Types.FirstOrDefault(c => c.Name == type);
            if (Draw(report, plot, pick, c => c.Slowdown, u => u.Slowdown, s_slowdownPercentiles, lines) is { } drawn)
            {
                paths.Add(ChartStyle.Save(drawn, path));
            }
        }
        return paths;
    }

    /// <summary>
    /// Renders latency-&lt;type&gt;.png for every request type with data. For reports without slowdown
    /// (the kv verb: a request's service time is the server's), so each type's tail still has its chart.
    /// </summary>
    public static List<string> RenderTypeLatency(RunReport report, string dir)
    {
        var paths = new List<string>();
        List<Slo> latencySlos = ChartStyle.ParseSlos(report).Where(s => s.Metric == "latency").ToList();
        List<string> types = report.Points
            .Where(p => !double.IsNaN(p.OfferedLoad))
            .SelectMany(p => p.Types)
            .Where(c => c.Count > 0)
            .Select(c => c.Name)
            .Distinct()
            .ToList();
        foreach (string type in types)
        {
            Plot plot = ChartStyle.NewPlot(report, $"latency of '{type}' requests against offered load" + UntouchedNote(report),
                "offered load (fraction of capacity)", "latency (µs, log scale)");
            List<Slo> lines = latencySlos.Where(s => s.TypeName == type).ToList();
            string path = Path.Combine(dir, $"latency-{ChartStyle.FileSafe(type)}.png");
            if (Draw(report, plot, p => p.Types.FirstOrDefault(c => c.Name == type), c => c.LatencyUs, u => u.LatencyUs, s_latencyPercentiles, lines) is { } drawn)
            {
                paths.Add(ChartStyle.Save(drawn, path));
            }
        }
        return paths;
    }

    /// <summary>True when some point recorded slowdown (its requests had service times).</summary>
    public static bool HasSlowdown(RunReport report) => report.Points.Any(p => p.All.Slowdown.Count > 0);

    /// <summary>The systems of a report in the order they first ran, which fixes each one's colour.</summary>
    public static List<string> Labels(RunReport report) => report.Points.Select(p => p.Label).Distinct().ToList();

    /// <summary>
    /// Each label's colour index: measured systems in the order they ran; a model curve takes the
    /// colour of the measured policy it models (same policy and slice), so the two read as a pair,
    /// and a colour of its own when it has none.
    /// </summary>
    public static Dictionary<string, int> ColorIndices(RunReport report)
    {
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string label in report.Points.Where(p => !IsModel(p)).Select(p => p.Label).Distinct())
        {
            indices[label] = indices.Count;
        }
        int next = indices.Count;
        foreach (PointReport p in report.Points.Where(IsModel))
        {
            if (!indices.ContainsKey(p.Label))
            {
                PointReport? twin = report.Points.FirstOrDefault(q => !IsModel(q) && q.Policy == p.Policy && q.QuantumUs == p.QuantumUs);
                indices[p.Label] = twin is null ? next++ : indices[twin.Label];
            }
        }
        return indices;
    }

    /// <summary>What "untouched" in the legend means, for the title of a chart that draws it.</summary>
    private static string UntouchedNote(RunReport report) =>
        report.Points.Any(p => p.All.Untouched is { Count: > 0 }) ? " (◇ untouched: no stall in its busy period)" : "";

    /// <summary>True for the queueing model's points.</summary>
    public static bool IsModel(PointReport p) => p.System == "model";

    /// <summary>One line: a value per load where it can be drawn on a log axis.</summary>
    private static void AddSeries(Plot plot, List<(double Load, ClassReport? Class)> measured, Func<ClassReport, double> value, Color color,
        LinePattern pattern, MarkerShape marker, string legend, bool model, List<double> plotted, ref double maxLoad, bool untouched = false)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach ((double load, ClassReport? c) in measured)
        {
            double v = value(c!);
            if (ChartStyle.Plottable(v))
            {
                xs.Add(load);
                ys.Add(Math.Log10(v));
                plotted.Add(v);
                maxLoad = Math.Max(maxLoad, load);
            }
        }
        if (xs.Count == 0)
        {
            return;
        }
        var s = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        s.Color = color;
        s.LinePattern = pattern;
        s.LineWidth = 2;
        s.MarkerShape = marker;
        s.MarkerSize = 7;
        s.LegendText = legend;
        if (model)
        {
            ChartStyle.StyleAsModel(s);
        }
        if (untouched)
        {
            ChartStyle.StyleAsUntouched(s);
        }
    }

    /// <summary>The untouched curves are drawn for the tails only: the machine's stalls move p99 and
    /// p99.9, rarely the median, and a third set of lines would crowd the chart.</summary>
    private static readonly string[] s_untouchedPercentiles = ["p99", "p99.9"];

    /// <summary>Draws every system's percentiles (and their untouched tails) on <paramref name="plot"/>; null when nothing could be drawn.</summary>
    private static Plot? Draw(RunReport report, Plot plot, Func<PointReport, ClassReport?> pick, Func<ClassReport, Summary> metric,
        Func<UntouchedClass, Summary> untouchedMetric, (string Name, LinePattern Pattern, MarkerShape Marker)[] percentiles,
        IReadOnlyList<Slo> slos)
    {
        List<string> labels = Labels(report);
        Dictionary<string, int> colors = ColorIndices(report);
        var plotted = new List<double>();
        double maxLoad = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            // Saturation points have no offered load to stand at on this axis.
            var measured = report.Points
                .Where(p => p.Label == labels[i] && !double.IsNaN(p.OfferedLoad))
                .Select(p => (Load: p.OfferedLoad, Class: pick(p)))
                .Where(x => x.Class is { Count: > 0 })
                .OrderBy(x => x.Load)
                .ToList();
            foreach ((string name, LinePattern pattern, MarkerShape marker) in percentiles)
            {
                bool model = report.Points.Any(p => p.Label == labels[i] && IsModel(p));
                AddSeries(plot, measured, c => metric(c).At(name), ChartStyle.SeriesColor(colors[labels[i]]), pattern, marker,
                    $"{labels[i]} {name}", model, plotted, ref maxLoad);
                if (!model && s_untouchedPercentiles.Contains(name))
                {
                    AddSeries(plot, measured, c => c.Untouched is { Count: > 0 } u ? untouchedMetric(u).At(name) : double.NaN,
                        ChartStyle.SeriesColor(colors[labels[i]]), pattern, marker, $"{labels[i]} {name} untouched", false, plotted, ref maxLoad,
                        untouched: true);
                }
            }
        }
        if (plotted.Count == 0)
        {
            return null;
        }
        ChartStyle.AddSloLines(plot, slos);
        plotted.AddRange(slos.Select(s => s.Limit));
        ChartStyle.UseLogScale(plot, plot.Axes.Left);
        ChartStyle.SetLogLimits(plot, plot.Axes.Left, plotted);
        // From zero, so the eye reads distance to the origin as load; a little room past the last point for its marker.
        plot.Axes.SetLimitsX(0, maxLoad * 1.08);
        plot.ShowLegend(Edge.Right);
        return plot;
    }
}
