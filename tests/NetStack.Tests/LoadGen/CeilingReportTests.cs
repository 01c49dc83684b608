// The ceiling table: requests per round trip, with the round trip before and after each point, and a point
// whose round trip moved under it marked so.
using NetStack.LoadGen.Reports;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class CeilingReportTests
{
    private static PointReport Ceiling(int k, double rps, double before, double? after) => new()
    {
        Policy = "cfcfs", MailboxDepth = k, OfferedLoad = double.NaN, OfferedRps = double.NaN, AchievedRps = rps,
        CrossCoreRoundTripNs = before, RequestsPerRoundTrip = rps * before / 1e9, CrossCoreRoundTripAfterNs = after,
    };

    [Fact]
    public void ARoundTripThatMovedByMoreThanHalfMarksItsPoint()
    {
        PointReport steady = Ceiling(4, 7_000_000, 130, 150);
        PointReport moved = Ceiling(4, 1_000_000, 150, 600);
        PointReport old = Ceiling(2, 5_000_000, 130, null); // a report from before the second probe
        Assert.False(steady.RoundTripMoved);
        Assert.True(moved.RoundTripMoved);
        Assert.True(Ceiling(4, 1_000_000, 600, 150).RoundTripMoved); // either way
        Assert.False(old.RoundTripMoved);

        var report = new RunReport { Verb = "sched", Command = "netstack-loadgen sched --loads max", Workload = new WorkloadInfo { Name = "zero" } };
        report.Points.AddRange([steady, moved, old]);
        string md = MarkdownReport.Render(report);
        Assert.Contains("| system | JBSQ k | achieved M/s | round trip ns before / after | requests per round trip |", md);
        Assert.Contains("| cfcfs | 4 | 7 | 130 / 150 | 0.91 |", md);
        Assert.Contains("| cfcfs | 4 | 1 | 150 / 600 | 0.15 (moved) |", md);
        Assert.Contains("| cfcfs | 2 | 5 | 130 / – | 0.65 |", md);
    }
}
