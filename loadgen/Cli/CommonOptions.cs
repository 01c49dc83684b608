// Options several verbs take, declared once: the same name, default, range and help line wherever they appear.
using System.CommandLine;
using NetStack.IOKernel;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime.Threading;

namespace NetStack.LoadGen.Cli;

/// <summary>Factories for the options verbs share; each call makes a new option for one verb's command.</summary>
internal static class CommonOptions
{
    /// <summary>The workload names, for the workload option.</summary>
    public static IReadOnlyList<string> WorkloadNames { get; } = Runtime.Workloads.Workload.All.Select(w => w.Name).ToArray();

    /// <summary><c>--workload NAME</c>, one of WORKLOADS.md's; required when <paramref name="fallback"/> is null.</summary>
    public static Option<string> Workload(string? fallback = null)
    {
        string what = $"one of WORKLOADS.md's workloads: {string.Join(", ", WorkloadNames.Where(n => n != "zero"))}; or zero (no service time: the dispatcher alone)";
        Option<string> option = CliOption.Name("workload", fallback, WorkloadNames, "workload", what, helpName: "NAME");
        return fallback is null ? option.Required() : option;
    }

    /// <summary>The workload a <see cref="Workload"/> option named (already checked by its parser).</summary>
    public static Runtime.Workloads.Workload WorkloadOf(string name) => Runtime.Workloads.Workload.TryGet(name, out Runtime.Workloads.Workload? w)
        ? w
        : throw new UsageException($"unknown workload '{name}'; valid: {Runtime.Workloads.Workload.Names}");

    /// <summary><c>--slo S1,S2,...</c>: the SLOs to judge, none when absent.</summary>
    public static Option<List<Slo>?> Slos() => CliOption.Parsed("slo", "SLO[,...]",
        $"SLOs to judge every point by, over all requests and over the untouched ones, each {Slo.Syntax}; the first is also the " +
        "report's headline [default: none]", ParseSlos);

    /// <summary><c>--out DIR</c>.</summary>
    public static Option<string?> Out(string verb) =>
        CliOption.Text("out", "DIR", $"where report.json, report.md and the charts go [default: results/<time>-{verb}]");

    /// <summary><c>--no-charts</c>.</summary>
    public static Option<bool> NoCharts() => CliOption.Flag("no-charts", "skip rendering the PNG charts");

    /// <summary><c>--seed N</c>.</summary>
    public static Option<int> Seed(int fallback = 42, string what = "arrivals and service times") =>
        CliOption.Integer("seed", fallback, 0, int.MaxValue, $"random seed: {what}");

    /// <summary><c>--duration-s S</c>, seconds per point.</summary>
    public static Option<double> DurationS(double fallback, double min = 0.05, double max = 3600, string description = "seconds a point runs, warm-up included") =>
        CliOption.Number("duration-s", fallback, min, max, description, "S");

    /// <summary><c>--warmup F</c>.</summary>
    public static Option<double> Warmup() =>
        CliOption.Number("warmup", 0.1, 0, 0.9, "leading share of each point that is not recorded (JIT, caches, buffers)", "F");

    /// <summary><c>--stall-threshold-us X</c>.</summary>
    public static Option<double> StallThreshold(string whose = "the IOKernel's, each carrier's and the spin handler's") =>
        CliOption.Number("stall-threshold-us", StallLog.DefaultThresholdMicros, 1, 1_000_000,
            $"a gap longer than this in {whose} own clock reads is a stall of the machine; the requests of a busy period it touched " +
            "are left out of the untouched figures", "US");

    /// <summary><c>--quantum-us Q</c>, NetStack's time slice.</summary>
    public static Option<double> QuantumUs() => CliOption.Number("quantum-us", 5, KernelOptions.MinQuantumMicros, KernelOptions.MaxQuantumMicros,
        "processor sharing's time slice, µs: a request that has run this long goes back to the queue's tail when others wait", "US");

    /// <summary><c>--mailbox-depth K</c>, JBSQ(k).</summary>
    public static Option<int> MailboxDepth(int max = KernelOptions.MaxMailboxDepth) =>
        CliOption.Integer("mailbox-depth", 2, 1, max, "JBSQ(k): requests a worker may hold, the one running included", "K");

    /// <summary><c>--queue-capacity N</c>, the queue bound (NetStack's <see cref="KernelOptions.QueueCapacity"/> by default).</summary>
    public static Option<int> QueueCapacity(string description) =>
        CliOption.Integer("queue-capacity", new KernelOptions().QueueCapacity, 1, 1 << 24, description);

    /// <summary><c>--idle spin|spin-yield|spin-park</c>, how idle carriers wait.</summary>
    public static Option<string> Idle() => CliOption.Name("idle", "spin", ["spin", "spin-yield", "spin-park"], "idle strategy",
        "how an idle carrier waits: spin; spin-yield (sched_yield between polls, so other threads on its core run); spin-park (then sleep)");

    /// <summary>An idle strategy by its command-line name.</summary>
    public static IdleStrategyKind IdleOf(string name) => name switch
    {
        "spin-yield" => IdleStrategyKind.SpinYield,
        "spin-park" => IdleStrategyKind.SpinPark,
        _ => IdleStrategyKind.Spin,
    };

    /// <summary>A comma list of SLOs, or a usage error with the syntax.</summary>
    public static List<Slo> ParseSlos(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseSlo).ToList();

    /// <summary>An SLO, or a usage error with the syntax.</summary>
    public static Slo ParseSlo(string text)
    {
        try
        {
            return Slo.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
