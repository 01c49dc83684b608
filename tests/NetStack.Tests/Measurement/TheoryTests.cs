// report.md's ratio to queueing theory: which points have a closed form, and the ratios printed for all and untouched requests.
using NetStack.LoadGen.Reports;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;
using Xunit;

namespace NetStack.Tests.Measurement;

public class TheoryTests
{
    private static PointReport Point(string policy, double load, double p50, double p99, double mean, double? untouchedP50 = null, double? untouchedP99 = null, int workers = 1) => new()
    {
        System = "netstack",
        Policy = policy,
        Workers = workers,
        OfferedLoad = load,
        OfferedRps = load * 100_000,
        All = new ClassReport
        {
            Count = 1000,
            LatencyUs = new Summary { Count = 1000, P50 = p50, P99 = p99, Mean = mean },
            Untouched = untouchedP50 is null ? null : new UntouchedClass
            {
                Count = 900,
                LeftOut = 100,
                LatencyUs = new Summary { Count = 900, P50 = untouchedP50.Value, P99 = untouchedP99!.Value, Mean = untouchedP50.Value * 1.4 },
            },
        },
    };

    private static string Render(string workload, params PointReport[] points)
    {
        var r = new RunReport { Verb = "sched", Command = "netstack-loadgen sched ...", Workload = new WorkloadInfo { Name = workload } };
        r.Points.AddRange(points);
        return MarkdownReport.Render(r);
    }

    [Fact]
    public void ReportPrintsTheRatioToMM1ForP50AndP99OverAllAndUntouchedRequests()
    {
        // exp-10 at 0.5, one worker, c-FCFS: M/M/1 gives p50 = ln 2 · 20 µs = 13.86 µs, p99 = ln 100 · 20 µs = 92.1 µs.
        string md = Render("exp-10", Point("cfcfs", 0.5, p50: 20.5, p99: 5489, mean: 60, untouchedP50: 15, untouchedP99: 120));

        Assert.Contains("## Against queueing theory", md);
        Assert.Contains("| cfcfs | 0.5 | M/M/1 | p50 | 13.86 | 20.5 | 1.48× | 15 | 1.08× |", md);
        Assert.Contains("| cfcfs | 0.5 | M/M/1 | p99 | 92.1 | 5489 | 59.6× | 120 | 1.3× |", md);
        Assert.Contains("| cfcfs | 0.5 | M/M/1 | mean | 20 | 60 | 3× | 21 | 1.05× |", md);
    }

    [Fact]
    public void OnlyConfigurationsWithAClosedFormGetARow()
    {
        Workload.TryGet("fixed-1", out Workload? fixed1);
        Workload.TryGet("extreme-bimodal", out Workload? bimodal);
        Workload.TryGet("exp-10", out Workload? exp10);

        // M/D/1 at 0.5: half the requests find the queue empty, so the median is the service time itself.
        var md1 = TheorySection.For(Point("cfcfs", 0.5, 2, 5, 2), fixed1!);
        Assert.Equal(["p50", "p99", "mean"], md1.Select(f => f.Statistic));
        Assert.Equal(1.0, md1[0].TheoryUs, 6);
        Assert.Equal(1.5, md1[2].TheoryUs, 6);
        // Any other workload on one FCFS worker: the mean, by Pollaczek–Khinchine.
        var mg1 = TheorySection.For(Point("cfcfs", 0.5, 2, 5, 2), bimodal!);
        Assert.Equal(["mean"], mg1.Select(f => f.Statistic));
        Assert.Equal(ClosedForms.MG1MeanResponseNs(0.5, bimodal!) / 1000, mg1[0].TheoryUs, 6);
        // Several workers: M/M/c's mean; processor sharing, saturation and the model's own points: none.
        Assert.Equal("M/M/2", Assert.Single(TheorySection.For(Point("cfcfs", 0.5, 2, 5, 2, workers: 2), exp10!)).Model);
        Assert.Empty(TheorySection.For(Point("ps", 0.5, 2, 5, 2), exp10!));
        Assert.Empty(TheorySection.For(Point("cfcfs", double.NaN, 2, 5, 2), exp10!));
        PointReport model = Point("cfcfs", 0.5, 2, 5, 2);
        model.System = "model";
        Assert.Empty(TheorySection.For(model, exp10!));
        Assert.DoesNotContain("Against queueing theory", Render("exp-10", Point("ps", 0.5, 2, 5, 2)));
    }

    [Theory]
    [InlineData(0.5, 0.99)]
    [InlineData(0.8, 0.99)]
    [InlineData(0.8, 0.9)]
    public void TheMD1QuantileIsWhereErlangsWaitingTimeDistributionReachesIt(double rho, double q)
    {
        double response = ClosedForms.MD1ResponseQuantileNs(rho, 1000, q);
        Assert.Equal(q, ClosedForms.MD1WaitCdf(rho, 1000, response - 1000), 6);
    }

    [Fact]
    public void TheMD1QuantileIsNotGivenWhereTheClosedFormLosesPrecision()
    {
        Assert.True(double.IsNaN(ClosedForms.MD1ResponseQuantileNs(0.95, 1000, 0.99)));
    }
}
