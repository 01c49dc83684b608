// The model verb's command line: every option, its default, its range and its help line.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Model;

/// <summary>model's options; one instance per command built.</summary>
internal sealed class ModelOptions
{
    /// <summary>Default dispatcher cost per dispatch, ns: a C dispatcher's ~5 M requests/s (WORKLOADS.md), near
    /// NetStack's measured 5.49 M/s at JBSQ(2) (docs/results.md).</summary>
    public const double DefaultDispatchNs = 200;

    /// <summary>Default preemption cost, ns: NetStack's measured p50 of 136–166 ns (docs/results.md).</summary>
    public const double DefaultPreemptNs = 150;

    /// <summary>Largest worker count (the simulator has no hard limit; this keeps a typo from exhausting memory).</summary>
    public const int MaxWorkers = 4096;

    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; } = CommonOptions.Workload();
    /// <summary><c>--policy</c>.</summary>
    public Option<NameList> Policy { get; } = CliOption.Names("policy", "cfcfs,ps,dfcfs", ModelPolicies.Names, "policy",
        "the policies to simulate: cfcfs, ps (cfcfs with a time slice), dfcfs (a queue per worker by flow hash)");
    /// <summary><c>--workers</c>.</summary>
    public Option<NumberList> Workers { get; } = CliOption.Numbers("workers", [1], 1, MaxWorkers, "worker counts to simulate, whole numbers", "N1,N2,...");
    /// <summary><c>--loads</c>.</summary>
    public Option<NumberList> Loads { get; } = CliOption.Numbers("loads", [0.1, 0.5, 0.9], 0.001, 10,
        "offered loads, fractions of capacity (workers / mean service time)", "L1,L2,...");
    /// <summary><c>--quantum-us</c>.</summary>
    public Option<double> QuantumUs { get; } = CliOption.Number("quantum-us", 5, 0.001, 1_000_000,
        "ps's time slice, µs (any size, unlike NetStack's 1 µs minimum)", "US");
    /// <summary><c>--dispatch-ns</c>.</summary>
    public Option<double> DispatchNs { get; } = CliOption.Number("dispatch-ns", DefaultDispatchNs, 0, 1e9,
        "the dispatcher's cost per dispatch, ns: at most 1e9 / N dispatches a second, whatever the worker count");
    /// <summary><c>--preempt-ns</c>.</summary>
    public Option<double> PreemptNs { get; } = CliOption.Number("preempt-ns", DefaultPreemptNs, 0, 1e9, "the time a preemption loses, ns");
    /// <summary><c>--mailbox-depth</c>.</summary>
    public Option<int> MailboxDepth { get; } = CommonOptions.MailboxDepth(ModelConfig.MaxMailboxDepth);
    /// <summary><c>--queue-capacity</c>.</summary>
    public Option<int> QueueCapacity { get; } = CommonOptions.QueueCapacity(
        "the queue bound, as NetStack's: an arrival to a full queue is dropped");
    /// <summary><c>--requests</c>.</summary>
    public Option<int> Requests { get; } = CliOption.Integer("requests", 1_000_000, 1_000, 1_000_000_000, "Poisson arrivals simulated per point");
    /// <summary><c>--warmup</c>.</summary>
    public Option<double> Warmup { get; } = CommonOptions.Warmup();
    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; } = CommonOptions.Seed();
    /// <summary><c>--slo</c>.</summary>
    public Option<List<Slo>?> Slos { get; } = CommonOptions.Slos();
    /// <summary><c>--out</c>.</summary>
    public Option<string?> Out { get; } = CommonOptions.Out("model");
    /// <summary><c>--no-charts</c>.</summary>
    public Option<bool> NoCharts { get; } = CommonOptions.NoCharts();

    /// <summary>The verb's command, without an action.</summary>
    public Command Command() => CliOption.Command("model",
        "the queueing model alone (a discrete-event simulation of cfcfs, ps and dfcfs with NetStack's dispatch and preemption costs) " +
        "for any worker count: report.json, report.md and charts as the measuring verbs write them, with system = model",
    [
        Workload, Policy, Workers, Loads, QuantumUs, DispatchNs, PreemptNs, MailboxDepth, QueueCapacity, Requests, Warmup, Seed, Slos, Out, NoCharts,
    ]);
}
