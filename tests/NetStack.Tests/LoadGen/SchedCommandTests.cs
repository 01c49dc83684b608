// The sched verb: bad input is one line and exit code 2; a short run writes a consistent report.
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class SchedCommandTests
{
    private static (int Code, string Error) Run(params string[] args)
    {
        var err = new StringWriter();
        var @out = new StringWriter();
        TextWriter oldErr = Console.Error, oldOut = Console.Out;
        Console.SetError(err);
        Console.SetOut(@out);
        try
        {
            return (NetStack.LoadGen.Program.Main(args), err.ToString());
        }
        finally
        {
            Console.SetError(oldErr);
            Console.SetOut(oldOut);
        }
    }

    [Theory]
    [InlineData(new[] { "sched", "--workload", "nope" }, "valid: fixed-1, exp-1, exp-10")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--policy", "lifo" }, "valid: cfcfs, ps, dfcfs")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--worker-cores", "4096" }, "valid cores")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--workers", "64" }, "needs 65 cores")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--quantum-us", "0.1" }, "--quantum-us must be a number from 1 to 1000")]
    [InlineData(new[] { "sched", "--workload", "exp-10", "--bogus", "1" }, "unknown option --bogus")]
    [InlineData(new[] { "teleport" }, "unknown verb 'teleport'; valid:")]
    public void BadInputIsOneLineNamingTheValidChoicesAndExitCodeTwo(string[] args, string expected)
    {
        (int code, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ShortRunWritesAConsistentReportForEveryPolicyAndLoad()
    {
        string dir = Path.Combine(Path.GetTempPath(), "netstack-sched-" + Guid.NewGuid().ToString("N"));
        try
        {
            (int code, string error) = Run("sched", "--workload", "extreme-bimodal", "--policy", "cfcfs,ps,dfcfs",
                "--loads", "0.2,0.4", "--duration-s", "0.3", "--idle", "spin-yield", "--slo", "p99.9-slowdown<=100000", "--out", dir);
            Assert.True(code == 0, error);
            RunReport report = RunReport.Load(Path.Combine(dir, "report.json"));
            Assert.True(File.Exists(Path.Combine(dir, "report.md")));
            Assert.Equal("sched", report.Verb);
            Assert.Equal("extreme-bimodal", report.Workload.Name);
            // Interleaved: load by load, every policy at each load.
            Assert.Equal(["cfcfs", "ps", "dfcfs", "cfcfs", "ps", "dfcfs"], report.Points.Select(p => p.Policy));
            Assert.Equal([0.2, 0.2, 0.2, 0.4, 0.4, 0.4], report.Points.Select(p => p.OfferedLoad));
            foreach (PointReport p in report.Points)
            {
                Assert.Equal(0, p.Unfinished);
                Assert.True(p.Completed > 0);
                Assert.Equal(["short", "long"], p.Types.Select(t => t.Name));
                Assert.Equal(p.All.Count, p.Types.Sum(t => t.Count));
                Assert.True(p.All.LatencyUs.P50 <= p.All.LatencyUs.P99 && p.All.LatencyUs.P99 <= p.All.LatencyUs.P999);
                Assert.Equal(p.Policy == "ps" ? 5 : 0, p.QuantumUs);
                // The kernel's stall log against every request of the window: each is kept or left out, none lost.
                StallReport stalls = p.Stalls!;
                Assert.Equal(StallAccounting.SeenInProcess, stalls.SeenBy);
                Assert.Equal(["carrier", "iokernel"], stalls.Cores.Select(c => c.Threads).Order());
                Assert.Equal(p.All.Count, stalls.Requests);
                Assert.Equal(stalls.Requests, p.All.Untouched!.Count + p.All.Untouched.LeftOut);
                Assert.Equal(p.All.Untouched.LeftOut, p.Types.Sum(t => t.Untouched!.LeftOut));
                Assert.Equal(0, stalls.NotLogged);
            }
            Assert.NotNull(report.Slo);
            Assert.Equal(3, report.Slo!.Rows.Count);
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
