// Charts: every chart a report has data for becomes a valid PNG of the fixed size, and nothing else does.
using System.Buffers.Binary;
using NetStack.Charts;
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.Charts;

public sealed class ChartRendererTests : IDisposable
{
    private static readonly byte[] s_pngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netstack-charts-" + Guid.NewGuid().ToString("N"));

    public ChartRendererTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RendersLatencyAndSlowdownPerTypeAsPngsOfTheFixedSize()
    {
        RunReport report = SchedReport("short:p99.9-slowdown<=50");

        List<string> paths = RenderSaved(report, _dir);

        Assert.Equal(["latency.png", "slowdown-short.png", "slowdown-long.png"], paths.Select(Path.GetFileName));
        foreach (string path in paths)
        {
            Assert.Equal(Path.GetFullPath(_dir), Path.GetDirectoryName(path));
            AssertPng(path, ChartStyle.WidthPx, ChartStyle.HeightPx);
        }
    }

    [Fact]
    public void UntouchedTailsAreDrawnBesideTheAllRequestOnesOfEachMeasuredSystem()
    {
        RunReport report = SchedReport(slo: null);
        foreach (PointReport p in report.Points.Where(p => p.Policy == "ps"))
        {
            p.All.Untouched = new UntouchedClass
            {
                Count = 900,
                LeftOut = 100,
                LatencyUs = new Summary { Count = 900, P50 = p.All.LatencyUs.P50, P99 = p.All.LatencyUs.P99 / 2, P999 = p.All.LatencyUs.P999 / 3 },
            };
        }

        List<string> legends = LoadCharts.LatencyPlot(report)!.GetPlottables()
            .OfType<ScottPlot.Plottables.Scatter>().Select(s => s.LegendText).ToList();

        Assert.Contains("ps 5µs p99 untouched", legends);
        Assert.Contains("ps 5µs p99.9 untouched", legends);
        Assert.DoesNotContain("ps 5µs p50 untouched", legends); // the tails only: stalls rarely move the median
        Assert.DoesNotContain(legends, l => l.StartsWith("cfcfs", StringComparison.Ordinal) && l.EndsWith("untouched", StringComparison.Ordinal));
        Assert.Equal(["latency.png", "slowdown-short.png", "slowdown-long.png"], RenderSaved(report, _dir).Select(Path.GetFileName));
    }

    [Fact]
    public void SlowdownSloOnAllRequestsAddsTheAllRequestsChartItsLineBelongsOn()
    {
        List<string> paths = RenderSaved(SchedReport("p99.9-slowdown<=50"), _dir);

        Assert.Equal(["latency.png", "slowdown-all.png", "slowdown-short.png", "slowdown-long.png"], paths.Select(Path.GetFileName));
        paths.ForEach(p => AssertPng(p, ChartStyle.WidthPx, ChartStyle.HeightPx));
    }

    [Fact]
    public void WithoutSlowdownEachTypeGetsALatencyChartInstead()
    {
        // The kv verb: the client cannot know a request's service time, so there is no slowdown to chart.
        RunReport report = SchedReport("get:p99-latency<=200");
        report.Verb = "kv";
        foreach (PointReport p in report.Points)
        {
            foreach (ClassReport c in p.Types.Append(p.All))
            {
                c.Slowdown = new Summary();
            }
            p.Types[0].Name = "get";
            p.Types[1].Name = "multiget";
        }

        List<string> paths = RenderSaved(report, _dir);

        Assert.Equal(["latency.png", "latency-get.png", "latency-multiget.png"], paths.Select(Path.GetFileName));
        paths.ForEach(p => AssertPng(p, ChartStyle.WidthPx, ChartStyle.HeightPx));
    }

    [Fact]
    public void ReportWithSaturationPointsStillRendersFromTheLoadedPoints()
    {
        RunReport report = SchedReport("p99-latency<=200");
        report.Points.Add(Point("cfcfs", 0, double.NaN, 100));
        report.Points.Add(Point("ps", 5, double.NaN, 100));

        List<string> paths = RenderSaved(report, _dir);

        Assert.Equal(["latency.png", "slowdown-short.png", "slowdown-long.png"], paths.Select(Path.GetFileName));
        paths.ForEach(p => AssertPng(p, ChartStyle.WidthPx, ChartStyle.HeightPx));
    }

    [Fact]
    public void ReportOfOnlySaturationPointsHasNothingToDrawAgainstLoad()
    {
        var report = new RunReport { Verb = "sched", Workload = new WorkloadInfo { Name = "exp-10" } };
        report.Points.Add(Point("cfcfs", 0, double.NaN, 100));

        Assert.Empty(RenderSaved(report, _dir));
        Assert.Empty(Directory.GetFiles(_dir, "*.png"));
    }

    [Fact]
    public void ColocationsGetCoresPerRunAndBatchChartsAndNoLoadCharts()
    {
        var report = new RunReport { Verb = "colocate", Workload = new WorkloadInfo { Name = "exp-10" } };
        report.Colocations = [Colocation("standing-queue", "standing-queue"), Colocation("static", "static")];

        List<string> paths = RenderSaved(report, _dir);

        Assert.Equal(["cores-standing-queue.png", "cores-static.png", "batch.png"], paths.Select(Path.GetFileName));
        paths.ForEach(p => AssertPng(p, ChartStyle.WidthPx, ChartStyle.HeightPx));
    }

    [Fact]
    public void AbsentDataGivesNoChart()
    {
        var report = new RunReport { Verb = "colocate", Workload = new WorkloadInfo { Name = "exp-10" } };
        // A run with no timeline and no phases has nothing to draw.
        report.Colocations = [new ColocationRun { Label = "empty" }];

        Assert.Empty(RenderSaved(report, _dir));
        Assert.Empty(Directory.GetFiles(_dir, "*.png"));
    }

    [Fact]
    public void RenderDirectoryWritesEachReportsChartsBesideIt()
    {
        string a = Path.Combine(_dir, "a");
        string b = Path.Combine(_dir, "nested", "b");
        Directory.CreateDirectory(a);
        Directory.CreateDirectory(b);
        SchedReport(null).Save(Path.Combine(a, "report.json"));
        SchedReport(null).Save(Path.Combine(b, "report.json"));

        List<string> paths = ChartRenderer.RenderDirectory(_dir);

        Assert.Equal(6, paths.Count);
        Assert.Equal(3, paths.Count(p => Path.GetDirectoryName(p) == Path.GetFullPath(a)));
        Assert.Equal(3, paths.Count(p => Path.GetDirectoryName(p) == Path.GetFullPath(b)));
        paths.ForEach(p => AssertPng(p, ChartStyle.WidthPx, ChartStyle.HeightPx));
    }

    [Fact]
    public void CommandPrintsEachPngPathAndExitsZero()
    {
        SchedReport(null).Save(Path.Combine(_dir, "report.json"));
        var output = new StringWriter();
        var error = new StringWriter();

        int code = Program.Run([_dir], output, error);

        Assert.Equal(Program.Ok, code);
        Assert.Equal("", error.ToString());
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["latency.png", "slowdown-short.png", "slowdown-long.png"], lines.Select(Path.GetFileName));
        Assert.All(lines, l => Assert.True(File.Exists(l), l));
    }

    [Fact]
    public void CommandExitsWithTwoAndOneLineForAMissingDirectory()
    {
        var error = new StringWriter();

        int code = Program.Run([Path.Combine(_dir, "missing")], new StringWriter(), error);

        Assert.Equal(2, code);
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void CommandExitsWithTwoAndOneLineForADirectoryWithoutReports()
    {
        var error = new StringWriter();

        int code = Program.Run([_dir], new StringWriter(), error);

        Assert.Equal(2, code);
        Assert.Contains("no report.json", error.ToString());
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    // Saved and loaded again, so the charts read what a report.json on disk holds (NaN loads included).
    private static List<string> RenderSaved(RunReport report, string dir)
    {
        string path = Path.Combine(dir, "report.json");
        report.Save(path);
        return ChartRenderer.RenderReport(RunReport.Load(path), dir);
    }

    private static void AssertPng(string path, int width, int height)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 33, $"{path}: {bytes.Length} bytes");
        Assert.Equal(s_pngSignature, bytes[..8]);
        // The first chunk is IHDR: length, type, then width and height as big-endian 32-bit integers.
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
    }

    private static RunReport SchedReport(string? slo)
    {
        var report = new RunReport { Verb = "sched", Workload = new WorkloadInfo { Name = "extreme-bimodal" } };
        foreach (double load in new[] { 0.2, 0.5, 0.8 })
        {
            report.Points.Add(Point("cfcfs", 0, load, 10 / (1 - load)));
            report.Points.Add(Point("ps", 5, load, 5 / (1 - load)));
        }
        if (slo is not null)
        {
            report.Slo = SloReport.Evaluate(Slo.Parse(slo), report.Points);
        }
        return report;
    }

    private static PointReport Point(string policy, double quantumUs, double load, double p50Us) => new()
    {
        Policy = policy,
        QuantumUs = quantumUs,
        OfferedLoad = load,
        OfferedRps = load * 300_000,
        All = Class("all", p50Us),
        Types = [Class("short", p50Us), Class("long", p50Us * 3)],
    };

    private static ClassReport Class(string name, double p50Us) => new()
    {
        Name = name,
        Count = 1000,
        LatencyUs = new Summary { Count = 1000, P50 = p50Us, P99 = p50Us * 4, P999 = p50Us * 10, Max = p50Us * 12, Mean = p50Us * 1.2 },
        Slowdown = new Summary { Count = 1000, P50 = p50Us / 2, P99 = p50Us * 2, P999 = p50Us * 5, Max = p50Us * 6, Mean = p50Us * 0.6 },
    };

    private static ColocationRun Colocation(string label, string policy)
    {
        var run = new ColocationRun
        {
            Label = label,
            AllocationPolicy = policy,
            Pattern = "step",
            Apps =
            [
                new AppInfo { Name = "lc", Priority = "latency-critical", GuaranteedCores = 1, MaxCores = 2 },
                new AppInfo { Name = "batch", Priority = "batch", GuaranteedCores = 0, MaxCores = 2 },
            ],
            Phases =
            [
                Phase("low", 0, 1, 0.2, 900_000, 40),
                Phase("high", 1, 2, 0.8, 200_000, 300),
            ],
        };
        for (int i = 0; i <= 20; i++)
        {
            double t = i * 100_000.0;
            int lcCores = t < 1_000_000 ? 1 : 2;
            run.Timeline.Add(new CoreSample { TimeUs = t, App = "lc", Cores = lcCores });
            run.Timeline.Add(new CoreSample { TimeUs = t, App = "batch", Cores = 2 - lcCores });
        }
        return run;
    }

    private static PhaseReport Phase(string name, double startS, double endS, double lcLoad, double batchUnits, double lcP999Us) => new()
    {
        Name = name,
        StartS = startS,
        EndS = endS,
        LcLoad = lcLoad,
        BatchUnitsPerSecond = batchUnits,
        Lc = Class("lc", lcP999Us / 10),
    };
}
