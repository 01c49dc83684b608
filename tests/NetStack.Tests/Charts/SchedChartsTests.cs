// The sched verb renders its charts at the end of a run, unless told --no-charts.
using Xunit;

namespace NetStack.Tests.Charts;

public sealed class SchedChartsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "netstack-sched-charts-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void SchedRendersChartsBesideItsReportAndPrintsTheirPaths()
    {
        (int code, string output) = Sched();

        Assert.Equal(0, code);
        string latency = Path.Combine(Path.GetFullPath(_dir), "latency.png");
        Assert.True(File.Exists(latency));
        Assert.Contains(latency, output);
    }

    [Fact]
    public void NoChartsSkipsThem()
    {
        (int code, _) = Sched("--no-charts");

        Assert.Equal(0, code);
        Assert.True(File.Exists(Path.Combine(_dir, "report.json")));
        Assert.Empty(Directory.GetFiles(_dir, "*.png"));
    }

    private (int Code, string Output) Sched(params string[] extra)
    {
        var @out = new StringWriter();
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        Console.SetOut(@out);
        Console.SetError(@out);
        try
        {
            string[] args = ["sched", "--workload", "exp-10", "--policy", "cfcfs", "--loads", "0.2", "--duration-s", "0.1",
                "--idle", "spin-yield", "--out", _dir, .. extra];
            return (NetStack.LoadGen.Program.Main(args), @out.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
