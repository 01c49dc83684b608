// Where a run's files go, and writing report.json and report.md together.
using System.Globalization;
using NetStack.IOKernel.Telemetry.Reports;

namespace NetStack.LoadGen.Reports;

/// <summary>Output folders and the report pair.</summary>
public static class ReportFiles
{
    /// <summary>results/&lt;timestamp&gt;-&lt;verb&gt; under the current folder, unless given.</summary>
    public static string OutputDirectory(string? requested, string verb)
    {
        string dir = requested ?? Path.Combine("results",
            DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + verb);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes DIR/report.json and DIR/report.md.</summary>
    public static void Write(RunReport report, string dir)
    {
        report.Save(Path.Combine(dir, "report.json"));
        File.WriteAllText(Path.Combine(dir, "report.md"), MarkdownReport.Render(report));
    }
}
