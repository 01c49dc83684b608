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
        var machine = new MachineInfo { Cores = 2, Processor = "cpu", Os = "os", Runtime = "rt", Clock = "tsc (2.445 GHz, measured)", Jit = "full", WritePrefetch = "prefetchw", CrossCoreRoundTripNs = 150, MemoryChase4MiBNs = 171.4 };
        Assert.Equal("2 cores, cpu, os, rt; clock tsc (2.445 GHz, measured); JIT full; write prefetch prefetchw; cross-core round trip 150 ns; 4 MiB pointer chase 171 ns a load", machine.ToString());
        Assert.Equal("2 cores, cpu, os, rt", new MachineInfo { Cores = 2, Processor = "cpu", Os = "os", Runtime = "rt" }.ToString());
    }

    [Theory]
    [InlineData(null, false, null, null, "full")] // NetStack's executables: runtimeconfig.json says false
    [InlineData("1", false, null, null, "tiered, Dynamic PGO")] // the environment overrides the configuration
    [InlineData("0", null, null, null, "full")]
    [InlineData(null, null, null, null, "tiered, Dynamic PGO")] // the runtime's default
    [InlineData(null, true, "0", null, "tiered, no PGO")]
    [InlineData(null, "True", null, false, "tiered, no PGO")]
    public void TheJitModeFollowsTheEnvironmentThenTheRuntimeConfiguration(string? tieredVariable, object? tieredProperty,
        string? pgoVariable, object? pgoProperty, string expected) =>
        Assert.Equal(expected, NetStack.Runtime.JitMode.Describe(new(tieredVariable, tieredProperty, pgoVariable, pgoProperty),
            _ => throw new InvalidOperationException("no profile asked for")));

    [Theory]
    [InlineData(false, null, "1", "/p/loadgen.pgo", true, "full, static PGO (loadgen.pgo)")]
    [InlineData(false, null, "1", "/p/loadgen.pgo", false, "full (a static profile asked for, none in loadgen.pgo)")]
    [InlineData(false, null, "1", null, true, "full (a static profile asked for, no PGODataPath)")]
    [InlineData(false, null, "0", "/p/loadgen.pgo", true, "full")]
    [InlineData(true, null, "1", "/p/loadgen.pgo", true, "tiered, Dynamic PGO")] // Dynamic PGO: the runtime does not read it
    [InlineData(true, "0", "1", "/p/loadgen.pgo", true, "tiered, static PGO (loadgen.pgo)")]
    public void ARecordedProfileIsNamedOnlyWhereTheRuntimeReadsItAndOnlyIfTheFileIsOne(bool tiered, string? pgoVariable,
        string readProfile, string? path, bool fileIsAProfile, string expected) =>
        Assert.Equal(expected, NetStack.Runtime.JitMode.Describe(new(tiered ? "1" : "0", null, pgoVariable, null, readProfile, path),
            p => p == path && fileIsAProfile ? NetStack.Runtime.JitMode.ProfileHeader + ", max index = 291 ***" : "not a profile"));

    [Fact]
    public void ThisProcessReportsItsJitModeFromItsRuntimeConfiguration()
    {
        // The test host is an executable of this repository, so Directory.Build.targets writes
        // System.Runtime.TieredCompilation false into its runtimeconfig.json (the theory above covers the
        // environment's override, which a run may set).
        Assert.Equal("false", AppContext.GetData("System.Runtime.TieredCompilation")?.ToString(), ignoreCase: true);
        if (NetStack.Runtime.JitMode.Variable("TieredCompilation") is null)
        {
            Assert.Equal("full", MachineInfo.Current().Jit);
        }
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
