// The udp verb against in-process echo servers: a consistent report, counts that add up, interleaved targets, clear errors.
using System.Net;
using NetStack.LoadGen.Echo;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class UdpCommandTests
{
    /// <summary>Runs the loadgen's Main with the console captured.</summary>
    internal static (int Code, string Output, string Error) RunMain(params string[] args)
    {
        var err = new StringWriter();
        var @out = new StringWriter();
        TextWriter oldErr = Console.Error, oldOut = Console.Out;
        Console.SetError(err);
        Console.SetOut(@out);
        try
        {
            return (NetStack.LoadGen.Program.Main(args), @out.ToString(), err.ToString());
        }
        finally
        {
            Console.SetError(oldErr);
            Console.SetOut(oldOut);
        }
    }

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "netstack-udp-" + Guid.NewGuid().ToString("N"));

    private static void AssertCountsAddUp(PointReport p)
    {
        Assert.Equal(p.Sent, p.Ok + p.Rejected + p.Failed + p.Lost);
        Assert.Equal(p.All.Count, p.Types.Sum(t => t.Count));
        Assert.True(p.Sent <= p.Scheduled);
        Assert.Equal(0, p.Duplicates);
        Assert.Equal(0, p.UnknownResponses);
        Assert.NotNull(p.GeneratorLatenessUs);
        Assert.NotNull(p.GeneratorFellBehind);
        // Only the generator's own threads are watched, and every answer of the window is kept or left out.
        Assert.Equal(StallAccounting.SeenByGenerator, p.Stalls!.SeenBy);
        Assert.All(p.Stalls.Cores, c => Assert.Matches("^(sender|receiver|sender\\+receiver)$", c.Threads));
        Assert.Equal(p.All.Count, p.Stalls.Requests);
        Assert.Equal(p.Stalls.Requests, p.All.Untouched!.Count + p.All.Untouched.LeftOut);
    }

    [Theory]
    [InlineData("thread")]
    [InlineData("inline")]
    public void ShortPointAtLowRateWritesAReportWhoseCountsAddUpAndLosesNothing(string receiver)
    {
        using var echo = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0));
        echo.Start();
        string dir = TempDir();
        try
        {
            (int code, _, string error) = RunMain("udp", "--target", $"127.0.0.1:{echo.Port}", "--workload", "high-bimodal",
                "--rates", "1000", "--duration-s", "0.3", "--receiver", receiver, "--slo", "p99.9-slowdown<=1000000,p99-latency<=1000000", "--out", dir);

            Assert.True(code == 0, error);
            Assert.True(File.Exists(Path.Combine(dir, "report.md")));
            RunReport report = RunReport.Load(Path.Combine(dir, "report.json"));
            Assert.Equal("udp", report.Verb);
            Assert.Equal("high-bimodal", report.Workload.Name);
            Assert.NotNull(report.Config.Placement);
            PointReport p = Assert.Single(report.Points);
            Assert.Equal("target1", p.System);
            Assert.Equal(1000, p.OfferedRps);
            AssertCountsAddUp(p);
            Assert.True(p.Sent > 0);
            Assert.Equal(0, p.Lost);
            Assert.Equal(p.Sent, p.Ok);
            Assert.Equal(["short", "long"], p.Types.Select(t => t.Name));
            Assert.True(p.All.Count > 0);
            Assert.Equal(2, report.Slos!.Count);
            Assert.Equal(report.Slos[0].Slo, report.Slo!.Slo);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void TwoTargetsAreInterleavedRateByRateTargetByTargetUnderTheirLabels()
    {
        using var a = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0));
        a.Start();
        b.Start();
        string dir = TempDir();
        try
        {
            (int code, _, string error) = RunMain("udp", "--target", $"netstack/ps=127.0.0.1:{a.Port},threadpool=127.0.0.1:{b.Port}",
                "--workload", "exp-10", "--loads", "0.005,0.01", "--workers", "1", "--duration-s", "0.2",
                "--slo", "p99.9-slowdown<=1000000", "--out", dir);

            Assert.True(code == 0, error);
            RunReport report = RunReport.Load(Path.Combine(dir, "report.json"));
            Assert.Equal(["netstack", "threadpool", "netstack", "threadpool"], report.Points.Select(p => p.System));
            Assert.Equal(["ps", "", "ps", ""], report.Points.Select(p => p.Policy));
            Assert.Equal([0.005, 0.005, 0.01, 0.01], report.Points.Select(p => p.OfferedLoad));
            Assert.Equal([500.0, 500.0, 1000.0, 1000.0], report.Points.Select(p => Math.Round(p.OfferedRps, 6)));
            foreach (PointReport p in report.Points)
            {
                AssertCountsAddUp(p);
            }
            // Both targets received their own points' requests, and at the same rate the same schedule.
            Assert.Equal(report.Points[0].Scheduled, report.Points[1].Scheduled);
            Assert.Equal(a.Received, report.Points.Where(p => p.System == "netstack").Sum(p => p.Sent));
            Assert.Equal(b.Received, report.Points.Where(p => p.System == "threadpool").Sum(p => p.Sent));
            Assert.Equal(["ps", "threadpool"], report.Slo!.Rows.Select(r => r.Label));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void AnUnansweredTargetCountsEveryRequestLost()
    {
        // A bound socket that never answers: requests reach it, no answer ever comes back.
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
            System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        string dir = TempDir();
        try
        {
            (int code, _, string error) = RunMain("udp", "--target", $"127.0.0.1:{((IPEndPoint)silent.LocalEndPoint!).Port}",
                "--workload", "exp-10", "--rates", "500", "--duration-s", "0.1", "--max-grace-s", "0.2", "--slo", "p99.9-slowdown<=1000000", "--out", dir);

            Assert.True(code == 0, error);
            PointReport p = Assert.Single(RunReport.Load(Path.Combine(dir, "report.json")).Points);
            Assert.True(p.Sent > 0);
            Assert.Equal(p.Sent, p.Lost);
            Assert.Equal(0, p.All.Count);
            Assert.Null(RunReport.Load(Path.Combine(dir, "report.json")).Slo!.Rows[0].MaxLoad);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "nope", "--rates", "10" }, "valid: fixed-1, exp-1, exp-10")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1", "--workload", "exp-10", "--rates", "10" }, "malformed --target '127.0.0.1'")]
    [InlineData(new[] { "udp", "--target", "example.com:80", "--workload", "exp-10", "--rates", "10" }, "malformed --target 'example.com:80'")]
    [InlineData(new[] { "udp", "--target", "a b=127.0.0.1:9", "--workload", "exp-10", "--rates", "10" }, "malformed --target")]
    [InlineData(new[] { "udp", "--target", "x=127.0.0.1:9,x=127.0.0.1:10", "--workload", "exp-10", "--rates", "10" }, "label 'x' is given twice")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10" }, "give exactly one of --rates")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--loads", "0.5" }, "give exactly one of --rates")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "zero", "--loads", "0.5" }, "use --rates")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--frobnicate", "1" }, "unknown option --frobnicate; valid:")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--cores", "4096" }, "valid cores")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--receiver", "both" }, "valid: thread, inline")]
    [InlineData(new[] { "udp", "--target", "127.0.0.1:9", "--workload", "exp-10", "--rates", "10", "--slo", "p42<=1" }, "bad SLO 'p42<=1'")]
    [InlineData(new[] { "udp", "--workload", "exp-10", "--rates", "10" }, "--target is required")]
    [InlineData(new[] { "echo", "--address", "nowhere" }, "--address must be an IP address")]
    [InlineData(new[] { "echo", "--port", "70000" }, "--port must be an integer from 0 to 65535")]
    public void BadCommandLineIsOneLineNamingTheValidChoicesAndExitCodeTwo(string[] args, string expected)
    {
        (int code, _, string error) = RunMain(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void TheGeneratorsSocketDropsAreReadFromItsLineOfTheKernelsUdpTable()
    {
        string[] table =
        [
            "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
            "  120: 0100007F:2328 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1001 2 0000000000000000 0",
            "  121: 0100007F:A1B2 0100007F:2328 01 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 17",
        ];
        Assert.Equal(17, NetStack.LoadGen.Udp.UdpSocketDrops.Find(table, 0xA1B2, 9000));
        Assert.Null(NetStack.LoadGen.Udp.UdpSocketDrops.Find(table, 0xA1B3, 9000));
    }
}
