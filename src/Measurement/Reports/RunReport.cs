// The report.json model every loadgen verb writes and the charts read (docs/report-schema.md).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NetStack.Measurement.Reports;

/// <summary>One run of a loadgen verb: its machine, workload, configuration and measured points.</summary>
public sealed class RunReport
{
    /// <summary>Bumped when a field changes meaning or goes away.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>Schema version.</summary>
    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>Always "netstack-loadgen".</summary>
    public string Tool { get; set; } = "netstack-loadgen";

    /// <summary>The verb that made it: sched, udp, colocate.</summary>
    public string Verb { get; set; } = "";

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>The command line, to reproduce it.</summary>
    public string Command { get; set; } = "";

    /// <summary>Where it ran.</summary>
    public MachineInfo Machine { get; set; } = MachineInfo.Current();

    /// <summary>The service-time distribution.</summary>
    public WorkloadInfo Workload { get; set; } = new();

    /// <summary>Run-wide settings.</summary>
    public RunConfig Config { get; set; } = new();

    /// <summary>Measured points, in the order they ran.</summary>
    public List<PointReport> Points { get; set; } = [];

    /// <summary>The SLO evaluation, when one was given.</summary>
    public SloReport? Slo { get; set; }

    /// <summary>Every SLO evaluation when several were given (udp: --slo A,B,C); <see cref="Slo"/> holds the first.</summary>
    public List<SloReport>? Slos { get; set; }

    /// <summary>Colocated runs (the colocate verb).</summary>
    public List<ColocationRun>? Colocations { get; set; }

    /// <summary>The serializer options of every report (camelCase, indented, enums as strings).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Reads a report.json.</summary>
    public static RunReport Load(string path) =>
        JsonSerializer.Deserialize<RunReport>(File.ReadAllText(path), JsonOptions)
            ?? throw new InvalidDataException($"{path} is not a NetStack report");

    /// <summary>Writes this report as JSON; <paramref name="indented"/> false writes it on one line (large model runs).</summary>
    public void Save(string path, bool indented = true) =>
        File.WriteAllText(path, JsonSerializer.Serialize(this, indented ? JsonOptions : s_compactJsonOptions));

    private static readonly JsonSerializerOptions s_compactJsonOptions = new(JsonOptions) { WriteIndented = false };
}

/// <summary>The machine a run was measured on.</summary>
public sealed class MachineInfo
{
    /// <summary>Logical cores.</summary>
    public int Cores { get; set; }
    /// <summary>CPU model.</summary>
    public string Processor { get; set; } = "";
    /// <summary>Operating system.</summary>
    public string Os { get; set; } = "";
    /// <summary>.NET runtime.</summary>
    public string Runtime { get; set; } = "";
    /// <summary>Host name.</summary>
    public string Host { get; set; } = "";
    /// <summary>Cache-line round trip between the IOKernel's core and the first worker's, ns, measured
    /// at the start of the run (a dispatcher's ceiling is a few of these per request).</summary>
    public double? CrossCoreRoundTripNs { get; set; }
    /// <summary>What the hot path's clock reads (<see cref="NetStack.Runtime.Clock.Source"/>): the TSC, with
    /// its measured rate, or the system clock and why; empty in reports from before it was recorded.</summary>
    public string Clock { get; set; } = "";
    /// <summary>A dependent pointer chase over 4 MiB on the IOKernel's core, ns per load, measured at the
    /// start of the run: an L3 hit is ~20–40 ns, a trip to memory 150–230 (a VM's L3 is shared with
    /// other tenants). A full central queue is about this size.</summary>
    public double? MemoryChase4MiBNs { get; set; }
    /// <summary>How this process's JIT compiles (<see cref="NetStack.Runtime.JitMode"/>): "full" (every method fully optimized at
    /// its first call, tiered compilation off, as NetStack's executables run) or "tiered, Dynamic PGO"; the
    /// dispatcher's ceiling differs by 1.4–1.6× between them (docs/results.md §1l, §1n). Empty in reports from
    /// before it was recorded.</summary>
    public string Jit { get; set; } = "";
    /// <summary>Whether the IOKernel asks for the lines a completion's return writes with <c>prefetchw</c>
    /// (<see cref="NetStack.Runtime.WritePrefetch"/>): "prefetchw", or "off (why)"; empty in reports from before
    /// it was recorded.</summary>
    public string WritePrefetch { get; set; } = "";

    /// <summary>This machine.</summary>
    public static MachineInfo Current() => new()
    {
        Cores = Environment.ProcessorCount,
        Processor = ReadProcessor(),
        Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        Host = Environment.MachineName,
        Clock = NetStack.Runtime.Clock.Source,
        Jit = NetStack.Runtime.JitMode.Current,
        WritePrefetch = NetStack.Runtime.WritePrefetch.Describe(),
    };

    /// <summary>One line for report headers.</summary>
    public override string ToString() => $"{Cores} cores, {Processor}, {Os}, {Runtime}"
        + (Clock.Length > 0 ? $"; clock {Clock}" : "")
        + (Jit.Length > 0 ? $"; JIT {Jit}" : "")
        + (WritePrefetch.Length > 0 ? $"; write prefetch {WritePrefetch}" : "")
        + (CrossCoreRoundTripNs is { } rt && !double.IsNaN(rt) ? $"; cross-core round trip {rt:0} ns" : "")
        + (MemoryChase4MiBNs is { } chase && !double.IsNaN(chase) ? $"; 4 MiB pointer chase {chase:0} ns a load" : "");

    private static string ReadProcessor()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}

/// <summary>A workload as reports describe it.</summary>
public sealed class WorkloadInfo
{
    /// <summary>Name, as in WORKLOADS.md.</summary>
    public string Name { get; set; } = "";
    /// <summary>Mean service time, µs.</summary>
    public double MeanServiceUs { get; set; }
    /// <summary>Its request types.</summary>
    public List<TypeInfo> Types { get; set; } = [];

    /// <summary>A request type.</summary>
    public sealed class TypeInfo
    {
        /// <summary>Name.</summary>
        public string Name { get; set; } = "";
        /// <summary>Share of requests.</summary>
        public double Weight { get; set; }
        /// <summary>Mean service time, µs.</summary>
        public double MeanUs { get; set; }
    }

    /// <summary>From a workload.</summary>
    internal static WorkloadInfo From(NetStack.Runtime.Workloads.Workload w) => new()
    {
        Name = w.Name,
        MeanServiceUs = w.MeanServiceNs / 1000.0,
        Types = w.Types.Select(t => new TypeInfo { Name = t.Name, Weight = t.Weight, MeanUs = t.MeanNs / 1000.0 }).ToList(),
    };
}

/// <summary>Settings shared by every point of a run.</summary>
public sealed class RunConfig
{
    /// <summary>Seconds each point ran (warm-up included).</summary>
    public double DurationS { get; set; }
    /// <summary>Leading share of each point not recorded.</summary>
    public double WarmupFraction { get; set; }
    /// <summary>The IOKernel's core.</summary>
    public int IOKernelCore { get; set; }
    /// <summary>Worker cores.</summary>
    public int[] WorkerCores { get; set; } = [];
    /// <summary>Carrier idle strategy.</summary>
    public string CarrierIdle { get; set; } = "";
    /// <summary>IOKernel idle strategy.</summary>
    public string IOKernelIdle { get; set; } = "";
    /// <summary>Random seed.</summary>
    public ulong Seed { get; set; }
    /// <summary>Where the load generator ran and why (network verbs).</summary>
    public string? Placement { get; set; }
    /// <summary>Free-form notes on what this machine can and cannot show.</summary>
    public List<string> Notes { get; set; } = [];
}
