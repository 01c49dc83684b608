// report.md of a udp run: the request counts and generator state per point, every SLO, and the ratio between systems.
using NetStack.LoadGen.Reports;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class UdpReportTests
{
    // Rejections are the server's: they disqualify a point from holding an SLO, so SLO fixtures have none unless asked.
    private static PointReport Point(string system, string policy, double load, double p999Slowdown, bool behind = false, long rejected = 0) => new()
    {
        System = system,
        Policy = policy,
        Workers = 1,
        OfferedLoad = load,
        OfferedRps = load * 100_000,
        All = new ClassReport { Count = 100, Slowdown = new Summary { Count = 100, P999 = p999Slowdown } },
        Scheduled = 110,
        Sent = 105,
        Ok = 104 - rejected,
        Rejected = rejected,
        Failed = 1,
        Lost = 0,
        SendErrors = 0,
        Duplicates = 0,
        UnknownResponses = 0,
        GeneratorLatenessUs = new Summary { Count = 100, P50 = 1, P99 = 3, Max = 9 },
        GeneratorFellBehind = behind,
    };

    private static RunReport Run(params PointReport[] points)
    {
        var report = new RunReport { Verb = "udp", Command = "netstack-loadgen udp ...", Workload = new WorkloadInfo { Name = "exp-10" } };
        report.Points.AddRange(points);
        return report;
    }

    [Fact]
    public void EverySloIsRenderedWithTheRatioBetweenSystemsThatBothHeldIt()
    {
        RunReport r = Run(
            Point("netstack", "ps", 0.2, 10), Point("threadpool", "", 0.2, 10),
            Point("netstack", "ps", 0.4, 10), Point("threadpool", "", 0.4, 80),
            Point("netstack", "ps", 0.8, 90), Point("threadpool", "", 0.8, 90));
        r.Slos = [SloReport.Evaluate(Slo.Parse("p99.9-slowdown<=50"), r.Points), SloReport.Evaluate(Slo.Parse("p99.9-slowdown<=5"), r.Points)];
        r.Slo = r.Slos[0];

        string md = MarkdownReport.Render(r);

        Assert.Contains("## SLO: p99.9-slowdown<=50", md);
        Assert.Contains("## SLO: p99.9-slowdown<=5", md);
        Assert.Contains("- all requests: ps / threadpool: 2×", md);
        Assert.Single(md.Split('\n'), l => l.Contains(" / threadpool:", StringComparison.Ordinal)); // none for the SLO nobody held
    }

    [Fact]
    public void ARatioAgainstASystemThatHeldTheSloAtEveryLoadTestedIsMarkedAsABound()
    {
        RunReport r = Run(Point("netstack", "ps", 0.2, 10), Point("threadpool", "", 0.2, 10), Point("netstack", "ps", 0.4, 10), Point("threadpool", "", 0.4, 80));
        r.Slos = [SloReport.Evaluate(Slo.Parse("p99.9-slowdown<=50"), r.Points)];

        Assert.Contains("- all requests: ps / threadpool: 2× (at least: ps held it at every load tested)", MarkdownReport.Render(r));
    }

    [Fact]
    public void NetworkCountsAndAGeneratorThatFellBehindAreShownPerPoint()
    {
        RunReport r = Run(Point("threadpool", "", 0.2, 10, rejected: 4), Point("threadpool", "", 0.4, 10, behind: true));

        string md = MarkdownReport.Render(r);

        Assert.Contains("## Requests and the generator", md);
        Assert.Contains("| threadpool | 0.2 | 20 | 110 | 105 | 100 | 4 | 1 | 0 | 0 |", md);
        Assert.Contains("| threadpool (generator: behind, unsent 5) | 0.4 |", md);
        Assert.Contains("**behind** |", md);
    }
}
