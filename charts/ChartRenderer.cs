// Entry point of the chart library: finds report.json files and renders every chart each one has data for.
using NetStack.Measurement.Reports;

namespace NetStack.Charts;

/// <summary>Renders report.json files to PNG charts written next to them.</summary>
internal static class ChartRenderer
{
    /// <summary>The file name every loadgen verb gives its report.</summary>
    public const string ReportFileName = "report.json";

    /// <summary>Every report.json under <paramref name="dir"/> (recursively), in ordinal path order.</summary>
    public static List<string> FindReports(string dir) =>
        Directory.EnumerateFiles(dir, ReportFileName, SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Renders the charts of every report.json under <paramref name="dir"/> next to it; returns the PNG paths.</summary>
    /// <exception cref="DirectoryNotFoundException">When <paramref name="dir"/> does not exist.</exception>
    public static List<string> RenderDirectory(string dir)
    {
        var paths = new List<string>();
        foreach (string reportPath in FindReports(dir))
        {
            string outDir = Path.GetDirectoryName(Path.GetFullPath(reportPath))!;
            paths.AddRange(RenderReport(RunReport.Load(reportPath), outDir));
        }
        return paths;
    }

    /// <summary>
    /// Renders the charts <paramref name="report"/> has data for into <paramref name="dir"/>:
    /// latency.png, slowdown-&lt;type&gt;.png (latency-&lt;type&gt;.png when no request has a service time; or, over several worker counts, slowdown-&lt;type&gt;-&lt;percentile&gt;.png),
    /// cores-&lt;label&gt;.png, batch.png. Returns the PNG paths.
    /// </summary>
    public static List<string> RenderReport(RunReport report, string dir)
    {
        var paths = new List<string>();
        if (ScalingCharts.Applies(report))
        {
            // Policies × worker counts would crowd one chart with every percentile: one percentile a chart instead.
            paths.AddRange(ScalingCharts.Render(report, dir));
        }
        else
        {
            if (LoadCharts.RenderLatency(report, dir) is { } latency)
            {
                paths.Add(latency);
            }
            paths.AddRange(LoadCharts.HasSlowdown(report) ? LoadCharts.RenderSlowdown(report, dir) : LoadCharts.RenderTypeLatency(report, dir));
        }
        paths.AddRange(ColocationCharts.RenderCores(report, dir));
        if (ColocationCharts.RenderBatch(report, dir) is { } batch)
        {
            paths.Add(batch);
        }
        return paths;
    }

    /// <summary>
    /// For the end of a loadgen run: renders and prints each PNG path to <paramref name="output"/>. A machine
    /// without the native graphics libraries gets one line saying how to render later, and the run still succeeds.
    /// </summary>
    public static void RenderAndList(RunReport report, string dir, TextWriter output)
    {
        try
        {
            foreach (string png in RenderReport(report, dir))
            {
                output.WriteLine($"chart {png}");
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            // The measurements are already on disk; losing the charts must not fail the run.
            output.WriteLine($"charts not rendered ({e.GetBaseException().Message}); render later with: dotnet run --project charts -- {dir}");
        }
    }
}
