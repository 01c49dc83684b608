// The model on charts: in its measured twin's colour beside it, and one percentile a chart over several worker counts.
using NetStack.Charts;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.Charts;

public sealed class ModelChartsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netstack-model-charts-" + Guid.NewGuid().ToString("N"));

    public ModelChartsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AModelCurveTakesTheColourOfThePolicyItModels()
    {
        var report = new RunReport { Verb = "sched" };
        report.Points.AddRange([Point("netstack", "cfcfs", 0, 1), Point("netstack", "ps", 5, 1), Point("model", "ps", 5, 1),
            Point("model", "cfcfs", 0, 1), Point("model", "dfcfs", 0, 1)]);

        Dictionary<string, int> colors = LoadCharts.ColorIndices(report);

        Assert.Equal(colors["cfcfs"], colors["model cfcfs, 1 worker"]);
        Assert.Equal(colors["ps 5µs"], colors["model ps 5µs, 1 worker"]);
        Assert.Equal(2, colors["model dfcfs, 1 worker"]);
    }

    [Fact]
    public void SeveralWorkerCountsGiveOneChartPerTypeAndPercentile()
    {
        var report = new RunReport { Verb = "model", Workload = new WorkloadInfo { Name = "extreme-bimodal", MeanServiceUs = 3 } };
        foreach (int workers in new[] { 16, 64 })
        {
            foreach (double load in new[] { 0.1, 0.5 })
            {
                report.Points.Add(Point("model", "cfcfs", 0, workers, load));
                report.Points.Add(Point("model", "ps", 5, workers, load));
            }
        }

        List<string> paths = ChartRenderer.RenderReport(report, _dir);

        Assert.Equal(["slowdown-short-p99.png", "slowdown-short-p99.9.png", "slowdown-long-p99.png", "slowdown-long-p99.9.png"],
            paths.Select(Path.GetFileName));
        Assert.All(paths, p => Assert.True(new FileInfo(p).Length > 1000));
    }

    private static PointReport Point(string system, string policy, double quantumUs, int workers, double load = 0.5) => new()
    {
        System = system,
        Policy = policy,
        QuantumUs = quantumUs,
        Workers = workers,
        OfferedLoad = load,
        Model = system == "model" ? new ModelPointInfo { DispatchNs = 200 } : null,
        All = Class("all", load),
        Types = [Class("short", load), Class("long", load)],
    };

    private static ClassReport Class(string name, double load) => new()
    {
        Name = name,
        Count = 1000,
        LatencyUs = new Summary { Count = 1000, P50 = 1, P99 = 10 / (1 - load), P999 = 30 / (1 - load), Max = 50, Mean = 2 },
        Slowdown = new Summary { Count = 1000, P50 = 1, P99 = 5 / (1 - load), P999 = 20 / (1 - load), Max = 40, Mean = 2 },
    };
}
