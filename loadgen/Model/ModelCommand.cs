// The `model` verb: the queueing model on its own, for any worker count, with NetStack's overheads as parameters.
using System.Globalization;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Model;

/// <summary>
/// <c>model --workload NAME --policy cfcfs,ps,dfcfs --workers 1,16,64 --loads 0.1,..,0.9 [--quantum-us 5]
/// [--dispatch-ns 200] [--preempt-ns 150] [--requests N] [--seed S] [--out DIR]</c>: simulates every
/// worker count, load and policy and writes report.json (compact: model runs have many points),
/// report.md and charts, as the measuring verbs do, with System = "model".
/// </summary>
internal static class ModelCommand
{
    /// <summary>Usage line.</summary>
    public const string Usage =
        "model --workload NAME [--policy cfcfs,ps,dfcfs] [--workers 1,16,64] [--loads 0.1,0.5,0.9] [--quantum-us 5] " +
        "[--dispatch-ns 200] [--preempt-ns 150] [--mailbox-depth 2] [--queue-capacity 8192] [--requests 1000000] " +
        "[--warmup 0.1] [--seed 42] [--slo \"p99.9-slowdown<=50\"[,...]] [--out DIR] [--no-charts]";

    /// <summary>Default dispatcher cost per dispatch, ns: a C dispatcher's ~5 M requests/s (WORKLOADS.md), near
    /// NetStack's measured 5.49 M/s at JBSQ(2) (docs/results.md).</summary>
    public const double DefaultDispatchNs = 200;

    /// <summary>Default preemption cost, ns: NetStack's measured p50 of 136–166 ns (docs/results.md).</summary>
    public const double DefaultPreemptNs = 150;

    /// <summary>Largest worker count (the simulator has no hard limit; this keeps a typo from exhausting memory).</summary>
    public const int MaxWorkers = 4096;

    private static readonly string[] s_options =
    [
        "workload", "policy", "workers", "loads", "quantum-us", "dispatch-ns", "preempt-ns", "mailbox-depth",
        "queue-capacity", "requests", "warmup", "seed", "slo", "out",
    ];

    /// <summary>Parses, simulates every point, writes the reports; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args, string commandLine)
    {
        Execute(args, commandLine, Console.Out);
        return 0;
    }

    /// <summary>Runs the verb; returns the report and its folder.</summary>
    public static (RunReport Report, string Dir) Execute(IReadOnlyList<string> args, string commandLine, TextWriter? output)
    {
        var a = new ArgParser("model", args, s_options, ["no-charts"]);
        Workload workload = SchedCommand.ParseWorkload(a.Require("workload"));
        if (workload.MeanServiceNs <= 0)
        {
            throw new UsageException($"model: workload {workload.Name} has no service time, so no capacity to take a fraction of; valid: {Workload.Names}");
        }
        List<ModelPolicy> policies = a.GetChoiceList("policy", "cfcfs,ps,dfcfs", ModelPolicies.Names.ToArray(), "policy")
            .Select(ModelPolicies.Parse).ToList();
        List<int> workers = ParseWorkers(a);
        List<double> loads = a.GetDoubleList("loads", [0.1, 0.5, 0.9], 0.001, 10);
        double quantumUs = a.GetDouble("quantum-us", 5, 0.001, 1_000_000);
        double dispatchNs = a.GetDouble("dispatch-ns", DefaultDispatchNs, 0, 1e9);
        double preemptNs = a.GetDouble("preempt-ns", DefaultPreemptNs, 0, 1e9);
        int depth = a.GetInt("mailbox-depth", 2, 1, ModelConfig.MaxMailboxDepth);
        int capacity = a.GetInt("queue-capacity", 8192, 1, 1 << 24);
        int requests = a.GetInt("requests", 1_000_000, 1_000, 1_000_000_000);
        double warmup = a.GetDouble("warmup", 0.1, 0, 0.9);
        ulong seed = (ulong)a.GetInt("seed", 42, 0);
        List<Slo> slos = SchedCommand.ParseSlos(a.Get("slo"));
        string dir = ReportFiles.OutputDirectory(a.Get("out"), "model");

        var report = ReportFiles.Begin("model", commandLine, workload, new RunConfig { WarmupFraction = warmup, Seed = seed });
        report.Config.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"the queueing model (src/Measurement/Model), not a measurement: {requests} Poisson arrivals a point; one dispatcher at {dispatchNs:0.#} ns a dispatch " +
            $"(at most {1e3 / Math.Max(dispatchNs, 1e-9):0.##} M dispatches/s), {preemptNs:0.#} ns lost per preemption, JBSQ({depth}), queue bound {capacity}"));

        var progress = new Progress(workers.Count * loads.Count * policies.Count, 0.2);
        long simulated = 0;
        double wallSeconds = 0;
        foreach (int n in workers)
        {
            foreach (double load in loads)
            {
                foreach (ModelPolicy policy in policies)
                {
                    progress.Starting(string.Create(CultureInfo.InvariantCulture, $"{workload.Name} {policy.Name()} {n} workers load {load:0.###}"));
                    var config = new ModelConfig
                    {
                        Workload = workload,
                        Policy = policy,
                        Workers = n,
                        Load = load,
                        DurationNs = ModelConfig.DurationNsFor(workload, load, n, requests),
                        WarmupFraction = warmup,
                        Seed = seed,
                        QuantumNs = quantumUs * 1000,
                        DispatchNs = dispatchNs,
                        PreemptNs = preemptNs,
                        MailboxDepth = depth,
                        QueueCapacity = capacity,
                    };
                    (PointReport point, ModelResult result) = ModelPoints.Simulate(config, "given");
                    report.Points.Add(point);
                    simulated += result.Arrivals;
                    wallSeconds += result.WallSeconds;
                    progress.Finished(string.Create(CultureInfo.InvariantCulture,
                        $"{SchedCommand.OneLine(point)}; dispatcher busy {result.DispatcherBusyFraction:P0}; simulated at {result.SimulatedPerSecond / 1e6:0.#} M requests/s"));
                }
            }
        }

        ReportFiles.Finish(report, dir, slos, output, charts: !a.Has("no-charts"), indentedJson: false);
        // The simulator's speed, for a bench line: wall-clock, so it varies with the machine and is never asserted.
        output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {report.Points.Count} points, {simulated / 1e6:0.#} M requests simulated in {wallSeconds:0.#} s ({simulated / Math.Max(wallSeconds, 1e-9) / 1e6:0.#} M requests/s)"));
        return (report, dir);
    }

    private static List<int> ParseWorkers(ArgParser a)
    {
        var list = new List<int>();
        foreach (double v in a.GetDoubleList("workers", [1], 1, MaxWorkers))
        {
            if (v != Math.Floor(v))
            {
                throw new UsageException($"model: --workers takes a comma list of whole numbers from 1 to {MaxWorkers}, not '{v.ToString(CultureInfo.InvariantCulture)}'");
            }
            list.Add((int)v);
        }
        return list;
    }
}
