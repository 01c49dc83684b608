// The demo's quick mode runs every part end to end: the machine's floor first, the policies compared with ratios that quote
// their two figures and the model beside each measured point, and SLO tables that agree with the points they summarize.
using System.Globalization;
using System.Text.RegularExpressions;
using NetStack.LoadGen.Demo;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class DemoTests
{
    [Theory]
    [InlineData(192.4, 10.6, "18× (192 / 10.6)")]
    [InlineData(2.1, 1.9, "1.1× (2.1 / 1.9)")]
    [InlineData(0.62, 0.5, "1.2× (0.62 / 0.5)")]
    [InlineData(null, 10.6, "–")]
    [InlineData(5.0, null, "–")]
    public void ARatioQuotesTheTwoFiguresItDivides(double? numerator, double? denominator, string expected)
    {
        Assert.Equal(expected, DemoPolicies.Ratio(numerator, denominator));
    }

    private static double Number(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void QuickDemoMeasuresTheFloorComparesThePoliciesBesideTheModelAndWritesSloTablesThatAgreeWithTheirPoints()
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

            // The floor comes first: a row for each of the demo's two cores.
            Assert.True(summary.IndexOf("## 0. This machine's floor", StringComparison.Ordinal) < summary.IndexOf("## 1. The policies", StringComparison.Ordinal));
            Assert.Equal(2, Regex.Matches(summary, @"^\| \d+ \| [\d.]+ ?% \| \d+ \|", RegexOptions.Multiline).Count);
            Assert.Contains("[0/3] this machine's floor", output.ToString());

            // The policies: p50, p90 and untouched p99 of the short requests, each with its ratio over ps quoting the two figures.
            Assert.Contains("### p50 latency", summary);
            Assert.Contains("### p90 latency", summary);
            Assert.Contains("### untouched p99 latency", summary);
            Assert.Contains("| cfcfs ÷ ps | dfcfs ÷ ps |", summary);
            MatchCollection ratios = Regex.Matches(summary, @"(\d+(?:\.\d+)?)× \(([\d.]+) / ([\d.]+)\)");
            Assert.NotEmpty(ratios);
            foreach (Match m in ratios)
            {
                double ratio = Number(m.Groups[1].Value), quotient = Number(m.Groups[2].Value) / Number(m.Groups[3].Value);
                Assert.True(Math.Abs(ratio - quotient) <= 0.06 * quotient + 0.06, m.Value);
            }
            Assert.Contains("**On a quiet machine** (the model, no stalls)", summary);

            // The model beside every measured point, same policy and load.
            List<PointReport> measured = sched.Points.Where(p => p.System == "netstack").ToList();
            Assert.Equal(6, measured.Count);
            Assert.All(measured, p => Assert.Single(sched.Points, q => q.System == "model" && q.Policy == p.Policy && q.OfferedLoad == p.OfferedLoad));

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
