// The colocate verb's command line: every option, its default, its range and its help line.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Sched;

namespace NetStack.LoadGen.Colocate;

/// <summary>colocate's options; one instance per command built.</summary>
internal sealed class ColocateOptions
{
    /// <summary>The configurations --allocation names.</summary>
    public static readonly string[] Configurations = ["standing-queue", "queue-delay", "static", "alone"];

    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; } = CommonOptions.Workload("exp-10");
    /// <summary><c>--lc-load</c>.</summary>
    public Option<double> LcLoad { get; } = CliOption.Number("lc-load", 0.5, 0, 0.99, "the LC app's load, a fraction of one core (the high phase of step and bursts)", "L");
    /// <summary><c>--lc-low</c>.</summary>
    public Option<double> LcLow { get; } = CliOption.Number("lc-low", 0.1, 0, 0.99, "the LC app's load in the low phases of step and bursts", "L");
    /// <summary><c>--pattern</c>.</summary>
    public Option<string> Pattern { get; } = CliOption.Name("pattern", "steady", ["steady", "step", "bursts"], "pattern",
        "steady: --lc-load throughout; step: --lc-low for the first half, then --lc-load; bursts: the two alternating every --burst-ms");
    /// <summary><c>--burst-ms</c>.</summary>
    public Option<double> BurstMs { get; } = CliOption.Number("burst-ms", 50, 1, 60_000, "the length of each phase of bursts, ms", "MS");
    /// <summary><c>--allocation</c>.</summary>
    public Option<NameList> Allocation { get; } = CliOption.Names("allocation", "standing-queue,static,alone", Configurations, "allocation",
        "the configurations, taking turns round by round: standing-queue (Shenango), queue-delay (Caladan), static (a fixed partition), " +
        "alone (the LC app without batch)");
    /// <summary><c>--duration-s</c>.</summary>
    public Option<double> DurationS { get; } = CommonOptions.DurationS(3, 0.1, description: "seconds per configuration, over all its rounds");
    /// <summary><c>--rounds</c>.</summary>
    public Option<int> Rounds { get; } = CliOption.Integer("rounds", 3, 1, 1000,
        "rounds per configuration; each runs the whole pattern, so a stall of the machine lands on every configuration alike");
    /// <summary><c>--warmup</c>.</summary>
    public Option<double> Warmup { get; } = CommonOptions.Warmup();
    /// <summary><c>--policy</c>.</summary>
    public Option<string> Policy { get; } = CliOption.Name("policy", "ps", ["cfcfs", "ps"], "policy", "the LC app's scheduling policy");
    /// <summary><c>--quantum-us</c>.</summary>
    public Option<double> QuantumUs { get; } = CommonOptions.QuantumUs();
    /// <summary><c>--mailbox-depth</c>.</summary>
    public Option<int> MailboxDepth { get; } = CommonOptions.MailboxDepth();
    /// <summary><c>--interval-us</c>.</summary>
    public Option<double> IntervalUs { get; } = CliOption.Number("interval-us", 5, 0.5, 10_000, "how often the IOKernel checks the LC app for congestion, µs", "US");
    /// <summary><c>--queue-delay-us</c>.</summary>
    public Option<double> QueueDelayUs { get; } = CliOption.Number("queue-delay-us", 10, 0.5, 1_000_000,
        "queue-delay: the oldest request's wait that counts as congestion, µs", "US");
    /// <summary><c>--release-idle-us</c>.</summary>
    public Option<double> ReleaseIdleUs { get; } = CliOption.Number("release-idle-us", 2, 0, 1_000_000,
        "idle time after which an LC core goes back to batch, µs", "US");
    /// <summary><c>--static-lc-cores</c>.</summary>
    public Option<int?> StaticLcCores { get; } = CliOption.OptionalInteger("static-lc-cores", 1, 1024,
        "static: the worker cores given wholly to the LC app [default: half the worker cores, at least 1]");
    /// <summary><c>--iokernel-core</c>, <c>--worker-cores</c>, <c>--workers</c>.</summary>
    public InProcessCoreOptions Cores { get; } = new();
    /// <summary><c>--idle</c>.</summary>
    public Option<string> Idle { get; } = CommonOptions.Idle();
    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; } = CommonOptions.Seed();
    /// <summary><c>--stall-threshold-us</c>.</summary>
    public Option<double> StallThreshold { get; } = CommonOptions.StallThreshold();
    /// <summary><c>--out</c>.</summary>
    public Option<string?> Out { get; } = CommonOptions.Out("colocate");
    /// <summary><c>--no-charts</c>.</summary>
    public Option<bool> NoCharts { get; } = CommonOptions.NoCharts();

    /// <summary>The verb's command, without an action.</summary>
    public Command Command() => CliOption.Command("colocate",
        "an LC spin app beside the hash-chain batch app on the same cores, in this process over the synthetic NIC, under each core-allocation " +
        "configuration: LC latency per phase, batch throughput, cores per app over time, grant latency and CPU efficiency",
    [
        Workload, LcLoad, LcLow, Pattern, BurstMs, Allocation, DurationS, Rounds, Warmup, Policy, QuantumUs, MailboxDepth, IntervalUs,
        QueueDelayUs, ReleaseIdleUs, StaticLcCores, .. Cores.All, Idle, Seed, StallThreshold, Out, NoCharts,
    ]);
}
