// The model verb and sched --model: bad input is one line and exit code 2; runs write model points in the report schema.
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

public sealed class ModelCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netstack-model-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static (int Code, string Error, string Output) Run(params string[] args)
    {
        var err = new StringWriter();
        var @out = new StringWriter();
        TextWriter oldErr = Console.Error, oldOut = Console.Out;
        Console.SetError(err);
        Console.SetOut(@out);
        try
        {
            return (NetStack.LoadGen.Program.Main(args), err.ToString(), @out.ToString());
        }
        finally
        {
            Console.SetError(oldErr);
            Console.SetOut(oldOut);
        }
    }

    [Theory]
    [InlineData(new[] { "model" }, "--workload is required")]
    [InlineData(new[] { "model", "--workload", "nope" }, "valid: fixed-1, exp-1, exp-10")]
    [InlineData(new[] { "model", "--workload", "zero" }, "no service time")]
    [InlineData(new[] { "model", "--workload", "exp-10", "--policy", "lifo" }, "valid: cfcfs, ps, dfcfs")]
    [InlineData(new[] { "model", "--workload", "exp-10", "--workers", "1.5" }, "--workers takes a comma list of whole numbers")]
    [InlineData(new[] { "model", "--workload", "exp-10", "--mailbox-depth", "9" }, "--mailbox-depth must be an integer from 1 to 8")]
    [InlineData(new[] { "model", "--workload", "exp-10", "--duration-s", "1" }, "unknown option --duration-s")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--dispatch-ns", "200" }, "add --model")]
    public void BadInputIsOneLineNamingTheValidChoicesAndExitCodeTwo(string[] args, string expected)
    {
        (int code, string error, _) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ModelWritesAPointPerWorkerCountLoadAndPolicyWithChartsPerPercentile()
    {
        (int code, string error, _) = Run("model", "--workload", "extreme-bimodal", "--policy", "cfcfs,ps", "--workers", "1,16",
            "--loads", "0.3,0.6", "--requests", "20000", "--slo", "short:p99.9-slowdown<=50", "--out", _dir);

        Assert.True(code == 0, error);
        RunReport report = RunReport.Load(Path.Combine(_dir, "report.json"));
        Assert.Equal("model", report.Verb);
        Assert.Equal(8, report.Points.Count);
        Assert.All(report.Points, p =>
        {
            Assert.Equal("model", p.System);
            Assert.Equal(p.Completed + p.Dropped, p.Model!.Arrivals);
            Assert.Equal(["short", "long"], p.Types.Select(t => t.Name));
            Assert.Equal(200, p.Model.DispatchNs);
            Assert.Equal(150, p.Model.PreemptNs);
        });
        Assert.Equal([1, 1, 1, 1, 16, 16, 16, 16], report.Points.Select(p => p.Workers));
        Assert.Equal(4, report.Points.Select(p => p.Label).Distinct().Count());
        Assert.Equal(4, report.Slo!.Rows.Count);
        Assert.Contains("## Model parameters", File.ReadAllText(Path.Combine(_dir, "report.md")));
        // Several worker counts: one chart per type and percentile.
        Assert.True(File.Exists(Path.Combine(_dir, "slowdown-short-p99.9.png")));
        Assert.False(File.Exists(Path.Combine(_dir, "latency.png")));
    }

    [Fact]
    public void SchedWithModelPutsAModelPointBesideEveryMeasuredOneAndTheirRatiosInTheReport()
    {
        (int code, string error, _) = Run("sched", "--workload", "exp-10", "--policy", "cfcfs,ps", "--loads", "0.2", "--duration-s", "0.2",
            "--idle", "spin-yield", "--model", "--dispatch-ns", "300", "--preempt-ns", "400", "--no-charts", "--out", _dir);

        Assert.True(code == 0, error);
        RunReport report = RunReport.Load(Path.Combine(_dir, "report.json"));
        Assert.Equal(["netstack", "netstack", "model", "model"], report.Points.Select(p => p.System));
        Assert.Equal(["cfcfs", "ps", "cfcfs", "ps"], report.Points.Select(p => p.Policy));
        PointReport measured = report.Points[1], model = report.Points[3];
        Assert.Equal(measured.OfferedRps, model.OfferedRps);
        Assert.Equal(measured.QuantumUs, model.QuantumUs);
        Assert.Equal(measured.MailboxDepth, model.MailboxDepth);
        Assert.Equal((300.0, 400.0), (model.Model!.DispatchNs, model.Model.PreemptNs));
        Assert.Equal("dispatch given; preemption given", model.Model.CostSource);
        string md = File.ReadAllText(Path.Combine(_dir, "report.md"));
        Assert.Contains("## Measured against the model", md);
        Assert.Contains("| ps 5µs | 0.2 | all |", md);
    }
}
