// The machine probes a report carries: the pointer chase (noise's sizes, the machine line's 4 MiB figure)
// and the note when it went to memory.
using NetStack.Measurement.Reports;
using Xunit;

namespace NetStack.Tests.LoadGen;

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
