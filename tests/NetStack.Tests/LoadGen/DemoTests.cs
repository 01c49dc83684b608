// The demo's quick mode runs every part end to end, and its SLO tables agree with the points they summarize.
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class DemoTests
{
    [Fact]
    public void QuickDemoWritesEveryPartsReportChartsAndASummaryWhoseSloTablesAgreeWithTheirPoints()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netstack-demo-" + Guid.NewGuid().ToString("N"));
        var output = new StringWriter();
        TextWriter original = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = NetStack.LoadGen.Program.Main(["demo", "--quick", "--out", dir]);
        }
        finally
        {
            Console.SetOut(original);
        }
        try
        {
            Assert.True(code == 0, output.ToString());
            string summary = File.ReadAllText(Path.Combine(dir, "report.md"));
            Assert.Contains($"summary: {Path.Combine(dir, "report.md")}", output.ToString());

            RunReport sched = RunReport.Load(Path.Combine(dir, "sched", "report.json"));
            RunReport udp = RunReport.Load(Path.Combine(dir, "udp", "report.json"));
            RunReport coloc = RunReport.Load(Path.Combine(dir, "colocate", "report.json"));
            Assert.Equal(["cfcfs", "ps", "dfcfs"], sched.Points.Select(p => p.Policy).Distinct());
            Assert.Equal(["netstack", "threadpool"], udp.Points.Select(p => p.System).Distinct());
            Assert.Equal(["standing-queue", "static", "lc-alone"], coloc.Colocations!.Select(c => c.Label));
            Assert.True(File.Exists(Path.Combine(dir, "sched", "latency.png")));
            Assert.True(File.Exists(Path.Combine(dir, "colocate", "batch.png")));

            // Every UDP request got exactly one fate: answered (ok, rejected, failed) or lost.
            Assert.All(udp.Points, p => Assert.Equal(p.Sent, p.Ok + p.Rejected + p.Failed + p.Lost));

            // Each SLO row is what the points say: the highest load that held it, and the misses below.
            foreach (RunReport report in new[] { sched, udp })
            {
                foreach (SloReport table in report.Slos!)
                {
                    Slo slo = Slo.Parse(table.Slo);
                    foreach (SloRow row in table.Rows)
                    {
                        var points = report.Points.Where(p => p.Label == row.Label).OrderBy(p => p.OfferedLoad).ToList();
                        double? expected = points.LastOrDefault(p => slo.HeldBy(p))?.OfferedLoad;
                        Assert.Equal(expected, row.MaxLoad);
                        Assert.Equal(expected is null ? [] : points.Where(p => p.OfferedLoad < expected && !slo.HeldBy(p)).Select(p => p.OfferedLoad), row.MissedBelow);
                        // And over the untouched requests (none at all when stalls touched every busy period).
                        double? untouched = points.LastOrDefault(p => slo.HeldBy(p, untouched: true))?.OfferedLoad;
                        Assert.Equal(untouched, row.Untouched?.MaxLoad);
                        Assert.Contains($"| {row.Label} |", summary);
                    }
                    Assert.Contains(table.Slo, summary);
                }
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
