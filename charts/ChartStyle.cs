// What every NetStack chart shares: image size, titles, colours per system, log axes and SLO lines.
using System.Globalization;
using NetStack.Measurement.Reports;
using ScottPlot;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace NetStack.Charts;

/// <summary>Size and look shared by every chart, so charts of different runs line up side by side.</summary>
internal static class ChartStyle
{
    /// <summary>Width of every PNG, pixels.</summary>
    public const int WidthPx = 900;

    /// <summary>Height of every PNG, pixels.</summary>
    public const int HeightPx = 600;

    private const float TitleFontSize = 15;

    // Category10 keeps neighbouring systems apart for colour-blind readers better than the default palette.
    private static readonly IPalette s_palette = new ScottPlot.Palettes.Category10();

    private static readonly string s_fontFamily = ResolveFontFamily();

    private static readonly Color[] s_sloColors = [Colors.Red, Colors.DarkRed, Colors.Magenta];

    /// <summary>The colour of the <paramref name="index"/>th series; the same index gives the same colour on every chart.</summary>
    public static Color SeriesColor(int index) => s_palette.GetColor(index);

    /// <summary>
    /// The queueing model's look: a curve, not measurements, so no markers, and paler and thinner than
    /// its measured twin; the line keeps its percentile's pattern, so p99 and p99.9 stay apart.
    /// </summary>
    public static void StyleAsModel(ScottPlot.Plottables.Scatter s)
    {
        s.Color = s.Color.WithOpacity(ModelOpacity);
        s.MarkerShape = MarkerShape.None;
        s.LineWidth = 1.5f;
    }

    private const double ModelOpacity = 0.55;

    /// <summary>
    /// The untouched requests' look: the same system, so the same colour and percentile pattern as
    /// its all-request line, but a hollow marker and a thinner line, so the gap between the two (the
    /// machine's stalls) reads at a glance.
    /// </summary>
    public static void StyleAsUntouched(ScottPlot.Plottables.Scatter s)
    {
        s.MarkerShape = MarkerShape.OpenDiamond;
        s.MarkerSize = 8;
        s.LineWidth = 1.2f;
    }

    /// <summary>A new plot with a title naming what it shows, the workload and the machine it ran on.</summary>
    public static Plot NewPlot(RunReport report, string what, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(s_fontFamily);
        string workload = report.Workload.Name.Length > 0 ? report.Workload.Name : report.Verb;
        // The machine goes on a line of its own: tail latencies mean little without it. A model run has none.
        string second = report.Verb == "model" ? ModelLine(report) : MachineLine(report.Machine);
        plot.Title($"{workload}: {what}\n{second}", TitleFontSize);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    /// <summary>
    /// Makes <paramref name="axis"/> logarithmic. ScottPlot has no log axis, so series plot log10 of
    /// their values and the ticks print 10^tick; whole decades only, so the labels stay round numbers.
    /// </summary>
    public static void UseLogScale(Plot plot, IAxis axis)
    {
        axis.TickGenerator = new NumericAutomatic
        {
            MinorTickGenerator = new LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = FormatDecade,
        };
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(.15);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plot.Grid.MinorLineWidth = 1;
    }

    /// <summary>
    /// Sets a log axis to whole decades around <paramref name="values"/> (raw, not log10): a range
    /// inside one decade would otherwise show no tick label at all.
    /// </summary>
    public static void SetLogLimits(Plot plot, IYAxis axis, IEnumerable<double> values)
    {
        double lo = double.PositiveInfinity;
        double hi = double.NegativeInfinity;
        foreach (double v in values)
        {
            if (Plottable(v))
            {
                double l = Math.Log10(v);
                lo = Math.Min(lo, l);
                hi = Math.Max(hi, l);
            }
        }
        if (double.IsInfinity(lo))
        {
            return;
        }
        // A little headroom keeps markers on a decade line from being cut in half by the frame.
        double bottom = Math.Floor(lo - 0.05);
        double top = Math.Ceiling(hi + 0.05);
        plot.Axes.SetLimitsY(bottom, top, axis);
    }

    /// <summary>True for values a log axis can show.</summary>
    public static bool Plottable(double v) => double.IsFinite(v) && v > 0;

    /// <summary>
    /// Dashed horizontal lines at each SLO's bound on a log axis, named in the legend; red for the
    /// first, darker shades for the rest, so several SLOs on one chart stay apart.
    /// </summary>
    public static void AddSloLines(Plot plot, IReadOnlyList<Slo> slos)
    {
        for (int i = 0; i < slos.Count; i++)
        {
            var line = plot.Add.HorizontalLine(Math.Log10(slos[i].Limit));
            line.Color = s_sloColors[i % s_sloColors.Length];
            line.LineWidth = 2;
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = "SLO " + Describe(slos[i]);
        }
    }

    /// <summary>"p99.9 slowdown ≤ 50" or "short: p99 latency ≤ 100 µs".</summary>
    public static string Describe(Slo slo)
    {
        string bound = string.Create(CultureInfo.InvariantCulture, $"{slo.Limit:0.###}");
        string unit = slo.Metric == "latency" ? " µs" : "";
        string type = slo.TypeName is null ? "" : slo.TypeName + ": ";
        return $"{type}{slo.Percentile} {slo.Metric} ≤ {bound}{unit}";
    }

    /// <summary>The report's SLOs (all of them when several were given), skipping any whose text does not parse.</summary>
    public static List<Slo> ParseSlos(RunReport report)
    {
        var slos = new List<Slo>();
        IEnumerable<SloReport> evaluated = report.Slos ?? (report.Slo is { } one ? [one] : []);
        foreach (SloReport s in evaluated)
        {
            try
            {
                slos.Add(Slo.Parse(s.Slo));
            }
            catch (FormatException)
            {
                // A report from a newer schema may carry SLOs this build cannot read: chart without that line.
            }
        }
        return slos;
    }

    /// <summary>Saves at the fixed size and returns the path.</summary>
    public static string Save(Plot plot, string path)
    {
        // Long enough for a legend entry to show a dash or a dot of its line, which tells the percentiles apart.
        plot.Legend.SymbolWidth = 40;
        plot.SavePng(path, WidthPx, HeightPx);
        return path;
    }

    /// <summary>A name safe in a file name: anything but letters, digits, '-', '_' and '.' becomes '-'.</summary>
    public static string FileSafe(string name)
    {
        if (name.Length == 0)
        {
            return "unnamed";
        }
        return string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-'));
    }

    private static string ResolveFontFamily()
    {
        // Skia picks a serif face on Linux when ScottPlot's default family is not installed; DejaVu Sans is
        // what CI installs (fonts-dejavu-core), and elsewhere ScottPlot's own choice is fine.
        string[] installed = SKFontManager.Default.FontFamilies.ToArray();
        return installed.Contains("DejaVu Sans", StringComparer.Ordinal) ? "DejaVu Sans" : Fonts.Default;
    }

    private static string FormatDecade(double log10)
    {
        double v = Math.Pow(10, log10);
        return v >= 1
            ? v.ToString("#,0", CultureInfo.InvariantCulture)
            : v.ToString("0.###", CultureInfo.InvariantCulture);
    }

    /// <summary>A model run's second title line: the overheads it was given.</summary>
    public static string ModelLine(RunReport report)
    {
        PointReport? p = report.Points.FirstOrDefault(x => x.Model is not null);
        return p is null
            ? "queueing model"
            : string.Create(CultureInfo.InvariantCulture,
                $"queueing model: dispatch {p.Model!.DispatchNs:0.#} ns, preemption {p.Model.PreemptNs:0.#} ns, JBSQ({p.MailboxDepth})");
    }

    /// <summary>The machine in a line short enough for a chart title: cores, processor, runtime, round trip.</summary>
    public static string MachineLine(MachineInfo m)
    {
        string line = $"{m.Cores} cores, {m.Processor}, {m.Runtime}";
        return m.CrossCoreRoundTripNs is { } rt && !double.IsNaN(rt)
            ? line + string.Create(System.Globalization.CultureInfo.InvariantCulture, $", cross-core round trip {rt:0} ns")
            : line;
    }
}
