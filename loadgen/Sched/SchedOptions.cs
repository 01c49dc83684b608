// The sched verb's command line: every option, its default, its range and its help line.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Model;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Sched;

/// <summary>sched's options; one instance per command built.</summary>
internal sealed class SchedOptions
{
    /// <summary>What the verb does, for help.</summary>
    public const string Description =
        "NetStack in-process over the synthetic NIC: every listed policy at each load, interleaved (load by load, policy by policy) " +
        "so they meet the same machine conditions; writes report.json, report.md and charts";

    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; } = CommonOptions.Workload();
    /// <summary><c>--policy</c>.</summary>
    public Option<NameList> Policy { get; } = CliOption.Names("policy", "ps", ["cfcfs", "ps", "dfcfs"], "policy",
        "the policies, run side by side: cfcfs (one queue, run to completion), ps (cfcfs with a time slice), dfcfs (a queue per worker by flow hash)");
    /// <summary><c>--quantum-us</c>.</summary>
    public Option<double> QuantumUs { get; } = CommonOptions.QuantumUs();
    /// <summary><c>--iokernel-core</c>, <c>--worker-cores</c>, <c>--workers</c>.</summary>
    public InProcessCoreOptions Cores { get; } = new();
    /// <summary><c>--loads</c>.</summary>
    public Option<NumberList> Loads { get; } = CliOption.Numbers("loads", [0.1, 0.5, 0.9], 0.001, 10,
        "offered loads, fractions of capacity (workers / mean service time); max: as fast as the dispatcher goes (a saturation point)",
        "L1,L2,...|max", allowMax: true);
    /// <summary><c>--duration-s</c>.</summary>
    public Option<double> DurationS { get; } = CommonOptions.DurationS(2);
    /// <summary><c>--warmup</c>.</summary>
    public Option<double> Warmup { get; } = CommonOptions.Warmup();
    /// <summary><c>--mailbox-depth</c>.</summary>
    public Option<int> MailboxDepth { get; } = CommonOptions.MailboxDepth();
    /// <summary><c>--queue-capacity</c>.</summary>
    public Option<int> QueueCapacity { get; } = CommonOptions.QueueCapacity(
        "requests the central queue admits before it rejects; a max point keeps it full, so this is also the ceiling's working set of queued requests");
    /// <summary><c>--no-worker-quantum-check</c>.</summary>
    public Option<bool> NoWorkerQuantumCheck { get; } = CliOption.Flag("no-worker-quantum-check",
        "ps: slices end only when the IOKernel asks (without it, a worker also ends a slice past its quantum while a request waits in its mailbox)");
    /// <summary><c>--worker-holds</c>.</summary>
    public Option<bool> WorkerHolds { get; } = CliOption.Flag("worker-holds",
        "ps, experimental: a worker that yields for a request in its mailbox keeps the yielded one and resumes it right after (without it, the IOKernel requeues it at the queue's tail)");
    /// <summary><c>--idle</c>.</summary>
    public Option<string> Idle { get; } = CommonOptions.Idle();
    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; } = CommonOptions.Seed();
    /// <summary><c>--slo</c>.</summary>
    public Option<List<Slo>?> Slos { get; } = CommonOptions.Slos();
    /// <summary><c>--stall-threshold-us</c>.</summary>
    public Option<double> StallThreshold { get; } = CommonOptions.StallThreshold();
    /// <summary><c>--trace</c>.</summary>
    public Option<int> Trace { get; } = CliOption.Integer("trace", 0, 0, 10_000_000,
        "keep the first N requests' stamps of every point and write them to trace-POLICY-LOAD.csv (0: none)");
    /// <summary><c>--out</c>.</summary>
    public Option<string?> Out { get; } = CommonOptions.Out("sched");
    /// <summary><c>--no-charts</c>.</summary>
    public Option<bool> NoCharts { get; } = CommonOptions.NoCharts();
    /// <summary><c>--metrics</c>.</summary>
    public Option<string> Metrics { get; } = CliOption.Name("metrics", "none", InProcessMetrics.Modes, "metrics exporter",
        "export the kernel's OpenTelemetry metrics while the run lasts: none, console, or prometheus (an HTTP endpoint, docs/metrics.md)");
    /// <summary><c>--metrics-port</c>.</summary>
    public Option<int> MetricsPort { get; } = CliOption.Integer("metrics-port", 9464, 1, 65535, "the prometheus endpoint's port", "PORT");
    /// <summary><c>--model</c>, <c>--dispatch-ns</c>, <c>--preempt-ns</c>.</summary>
    public SchedModelOptions Model { get; } = new();

    /// <summary>The verb's command, without an action.</summary>
    public Command Command() => CliOption.Command("sched", Description,
    [
        Workload, Policy, QuantumUs, .. Cores.All, Loads, DurationS, Warmup, MailboxDepth, QueueCapacity, NoWorkerQuantumCheck, WorkerHolds, Idle, Seed, Slos,
        StallThreshold, Trace, Out, NoCharts, Metrics, MetricsPort, .. Model.All,
    ]);
}
