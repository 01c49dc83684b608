// SLO parsing and evaluation: the highest load whose point held it, and the misses below.
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
