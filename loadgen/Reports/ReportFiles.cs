// Where a run's files go, and writing report.json and report.md together.
using System.Globalization;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Reports;

/// <summary>Output folders and the report pair.</summary>
internal static class ReportFiles
{
    /// <summary>results/&lt;timestamp&gt;-&lt;verb&gt; under the current folder, unless given.</summary>
    public static string OutputDirectory(string? requested, string verb)
    {
        string dir = requested ?? Path.Combine("results",
            DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + verb);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The start of every run's report: the verb, when, the command line and the workload.</summary>
    public static RunReport Begin(string verb, string commandLine, NetStack.Runtime.Workloads.Workload workload, RunConfig config) => new()
    {
        Verb = verb,
        StartedAt = DateTimeOffset.UtcNow,
        Command = commandLine,
        Workload = WorkloadInfo.From(workload),
        Config = config,
    };

    /// <summary>The end of every run: evaluates the SLOs, writes report.json (on one line unless
    /// <paramref name="indentedJson"/>) and report.md, prints the markdown and the file paths to
    /// <paramref name="output"/>, and renders the charts.</summary>
    public static void Finish(RunReport report, string dir, IReadOnlyList<Slo> slos, TextWriter? output, bool charts, bool indentedJson = true)
    {
        if (slos.Count > 0)
        {
            report.Slos = slos.Select(s => SloReport.Evaluate(s, report.Points)).ToList();
            report.Slo = report.Slos[0];
        }
        Write(report, dir, indentedJson);
        output?.WriteLine(MarkdownReport.Render(report));
        output?.WriteLine($"wrote {Path.Combine(dir, "report.json")} and report.md");
        if (charts)
        {
            NetStack.Charts.ChartRenderer.RenderAndList(report, dir, output ?? TextWriter.Null);
        }
    }

    /// <summary>Sleeps the calling (non-data-path) thread until <paramref name="ticks"/>.</summary>
    public static void SleepUntil(long ticks)
    {
        long left = ticks - NetStack.Runtime.Clock.Now();
        if (left > 0)
        {
            Thread.Sleep(TimeSpan.FromMicroseconds(NetStack.Runtime.Clock.ToMicros(left)));
        }
    }

    /// <summary>Writes DIR/report.json and DIR/report.md.</summary>
    public static void Write(RunReport report, string dir, bool indentedJson = true)
    {
        report.Save(Path.Combine(dir, "report.json"), indentedJson);
        File.WriteAllText(Path.Combine(dir, "report.md"), MarkdownReport.Render(report));
    }
}
