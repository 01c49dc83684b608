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

public class MachineProbeTests
{
    [Fact]
    public void APointerChaseGivesAFiniteTimePerLoadAndTheMachineLineCarriesIt()
    {
        double ns = NetStack.LoadGen.Noise.MemoryProbe.ChaseNs(64, NetStack.Runtime.Affinity.AvailableCores()[0], loads: 100_000);
        Assert.True(double.IsFinite(ns) && ns > 0, $"chase gave {ns}");
        var machine = new MachineInfo { Cores = 2, Processor = "cpu", Os = "os", Runtime = "rt", Clock = "tsc (2.445 GHz, measured)", CrossCoreRoundTripNs = 150, MemoryChase4MiBNs = 171.4 };
        Assert.Equal("2 cores, cpu, os, rt; clock tsc (2.445 GHz, measured); cross-core round trip 150 ns; 4 MiB pointer chase 171 ns a load", machine.ToString());
        Assert.Equal("2 cores, cpu, os, rt", new MachineInfo { Cores = 2, Processor = "cpu", Os = "os", Runtime = "rt" }.ToString());
    }

    [Fact]
    public void NoisePrintsThePointerChasePerSize()
    {
        var output = new StringWriter();
        NetStack.LoadGen.Noise.NoiseCommand.Print([NetStack.Runtime.Affinity.AvailableCores()[0]], 0.1, output);
        Assert.Matches(@"core \d+: pointer chase, ns per load: 256 KiB [\d.]+, 1 MiB [\d.]+, 4 MiB [\d.]+, 64 MiB [\d.]+", output.ToString());
    }
}

public class MemoryNoteTests
{
    [Theory]
    [InlineData(21.5, false)]
    [InlineData(99.9, false)]
    [InlineData(171.4, true)]
    public void AChaseThatWentToMemoryIsNoted(double ns, bool noted)
    {
        string? note = NetStack.LoadGen.Noise.MemoryProbe.SpillsToMemory(ns);
        Assert.Equal(noted, note is not null);
        if (noted)
        {
            Assert.StartsWith("memory: a 4 MiB pointer chase took 171 ns a load at the start", note);
        }
    }
}
