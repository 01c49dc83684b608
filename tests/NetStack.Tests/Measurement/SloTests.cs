// SLO parsing and evaluation: the highest load whose point held it, and the misses below.
using NetStack.LoadGen.Reports;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.Measurement;

public class SloTests
{
    private static PointReport Point(string policy, double load, double p999Slowdown) => new()
    {
        Policy = policy,
        OfferedLoad = load,
        OfferedRps = load * 1000,
        All = new ClassReport { Count = 100, Slowdown = new Summary { Count = 100, P999 = p999Slowdown } },
    };

    [Fact]
    public void HighestLoadIsTheHighestThatHeldWithTheLowerMissesListed()
    {
        var points = new[]
        {
            Point("ps", 0.1, 3), Point("ps", 0.5, 10), Point("ps", 0.7, 60), Point("ps", 0.9, 20), Point("ps", 0.95, 70),
            Point("cfcfs", 0.1, 80), Point("cfcfs", 0.5, 90),
        };
        SloReport r = SloReport.Evaluate(Slo.Parse("p99.9-slowdown<=50"), points);
        SloRow ps = r.Rows.Single(x => x.Label == "ps");
        Assert.Equal(0.9, ps.MaxLoad);
        Assert.Equal(20, ps.ValueAtMax);
        Assert.Equal([0.7], ps.MissedBelow);
        Assert.Null(r.Rows.Single(x => x.Label == "cfcfs").MaxLoad);
    }

    [Fact]
    public void APointThatShedLoadDoesNotHoldTheSlo()
    {
        Slo slo = Slo.Parse("p99.9-slowdown<=50");
        PointReport rejecting = Point("threadpool", 0.5, 3);
        rejecting.Rejected = 10;
        PointReport dropping = Point("ps", 0.5, 3);
        dropping.Dropped = 10;
        PointReport lost = Point("ps", 0.5, 3);
        lost.Lost = 1;
        Assert.True(slo.HeldBy(Point("ps", 0.5, 3)));
        Assert.False(slo.HeldBy(rejecting));
        Assert.False(slo.HeldBy(dropping));
        Assert.False(slo.HeldBy(lost));
    }

    private static PointReport Network(double load, double p999Slowdown, double? untouchedP999 = null) => new()
    {
        System = "netstack",
        Policy = "ps",
        OfferedLoad = load,
        OfferedRps = load * 1000,
        All = new ClassReport
        {
            Count = 100,
            Slowdown = new Summary { Count = 100, P999 = p999Slowdown },
            Untouched = untouchedP999 is { } u ? new UntouchedClass { Count = 90, LeftOut = 10, Slowdown = new Summary { Count = 90, P999 = u } } : null,
        },
        Scheduled = 100,
        Sent = 100,
        Ok = 100,
        Rejected = 0,
        Failed = 0,
        Lost = 0,
        SendErrors = 0,
        GeneratorFellBehind = false,
    };

    [Fact]
    public void AnSloTableJudgesLatencyAndFlagsLatenessApart()
    {
        Slo slo = Slo.Parse("p99.9-slowdown<=50");
        PointReport behind = Network(0.2, 10);
        behind.GeneratorFellBehind = true;
        PointReport unsent = Network(0.3, 10);
        unsent.Sent = 90;
        PointReport sendErrors = Network(0.4, 10);
        (sendErrors.SendErrors, sendErrors.Lost) = (2, 2);       // the generator's socket refused them: never reached the server
        PointReport droppedHere = Network(0.5, 10);
        (droppedHere.GeneratorDropped, droppedHere.Lost) = (3, 3); // answered, then lost in the generator's own socket
        PointReport rejected = Network(0.6, 10);
        rejected.Rejected = 1;                                      // the server shed it: the server's miss
        PointReport unanswered = Network(0.7, 10);
        (unanswered.SendErrors, unanswered.Lost) = (2, 5);          // three the server never answered

        // The generator's shortfalls do not make the server miss; the server's own do.
        Assert.All(new[] { behind, unsent, sendErrors, droppedHere }, p => Assert.True(slo.HeldBy(p), p.GeneratorFlags));
        Assert.False(slo.HeldBy(rejected));
        Assert.False(slo.HeldBy(unanswered));
        Assert.Equal(3, unanswered.UnansweredByServer);
        Assert.Equal("behind", behind.GeneratorFlags);
        Assert.Equal("unsent 10", unsent.GeneratorFlags);
        Assert.Equal("send-errors 2", sendErrors.GeneratorFlags);
        Assert.Equal("dropped-at-generator 3", droppedHere.GeneratorFlags);
        Assert.Null(rejected.GeneratorFlags);

        PointReport[] points = [behind, unsent, sendErrors, droppedHere, rejected, unanswered];
        SloRow row = SloReport.Evaluate(slo, points).Rows.Single();
        Assert.Equal(0.5, row.MaxLoad);
        // Every load whose generator fell short is flagged, whatever the verdict (0.7 missed it, and its sends failed too).
        Assert.Equal([0.2, 0.3, 0.4, 0.5, 0.7], row.Flagged.Select(f => f.Load));

        var report = new RunReport { Verb = "udp", Command = "netstack-loadgen udp ...", Workload = new WorkloadInfo { Name = "exp-10" } };
        report.Points.AddRange(points);
        report.Slos = [SloReport.Evaluate(slo, points)];
        string md = MarkdownReport.Render(report);
        Assert.Contains("| all requests: highest load holding it | krps | value there | untouched: highest load holding it | krps | value there | generator flags |", md);
        Assert.Contains("| ps | 0.5 | 0.5 | 10 | – | – | – | 0.2: behind; 0.3: unsent 10; 0.4: send-errors 2; 0.5: dropped-at-generator 3; 0.7: send-errors 2 |", md);
    }

    [Fact]
    public void AnSloIsJudgedOverAllRequestsAndOverTheUntouchedOnesLabelledApart()
    {
        Slo slo = Slo.Parse("p99.9-slowdown<=50");
        // At 0.5 the machine's stalls push the tail past the bound; without them it holds.
        PointReport[] points = [Network(0.1, 20, 5), Network(0.5, 900, 30), Network(0.9, 2000, 400)];
        SloRow row = SloReport.Evaluate(slo, points).Rows.Single();
        Assert.Equal(0.1, row.MaxLoad);
        Assert.Equal(0.5, row.Untouched!.MaxLoad);
        Assert.Equal(30, row.Untouched.ValueAtMax);

        var report = new RunReport { Verb = "sched", Command = "netstack-loadgen sched ...", Workload = new WorkloadInfo { Name = "exp-10" } };
        report.Points.AddRange(points);
        report.Slos = [SloReport.Evaluate(slo, points)];
        Assert.Contains("| ps | 0.1 | 0.1 | 20 | 0.5 | 0.5 | 30 | – |", MarkdownReport.Render(report));
    }

    [Theory]
    [InlineData("p99.9-slowdown<=50", null, "p99.9", "slowdown", 50)]
    [InlineData("short:p99-latency<=100", "short", "p99", "latency", 100)]
    [InlineData("p50-latency <= 2.5", null, "p50", "latency", 2.5)]
    public void ParsesEveryForm(string text, string? type, string pct, string metric, double limit)
    {
        Slo s = Slo.Parse(text);
        Assert.Equal((type, pct, metric, limit), (s.TypeName, s.Percentile, s.Metric, s.Limit));
    }

    [Theory]
    [InlineData("p98-slowdown<=5")]
    [InlineData("p99-speed<=5")]
    [InlineData("p99-latency>=5")]
    public void RejectsWhatItCannotRead(string text)
    {
        var e = Assert.Throws<FormatException>(() => Slo.Parse(text));
        Assert.Contains("expected", e.Message);
    }
}
