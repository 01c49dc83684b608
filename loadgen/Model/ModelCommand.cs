// The `model` verb: the queueing model on its own, for any worker count, with NetStack's overheads as parameters.
using System.CommandLine;
using System.Globalization;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Model;

/// <summary>
/// <c>model --workload NAME --policy cfcfs,ps,dfcfs --workers 1,16,64 --loads 0.1,..,0.9 ...</c> (<see cref="ModelOptions"/>):
/// simulates every worker count, load and policy and writes report.json (compact: model runs have many points),
/// report.md and charts, as the measuring verbs do, with System = "model".
/// </summary>
internal static class ModelCommand
{
    /// <summary>The verb, for the program's root command: simulates and writes the report to the console.</summary>
    public static Command Create(string commandLine)
    {
        var options = new ModelOptions();
        return VerbParser.WithAction(options.Command(), result => Execute(options, result, commandLine, Console.Out));
    }

    /// <summary>Runs the verb; returns the report and its folder.</summary>
    public static (RunReport Report, string Dir) Execute(ModelOptions o, ParseResult a, string commandLine, TextWriter? output)
    {
        Workload workload = CommonOptions.WorkloadOf(a.GetRequiredValue(o.Workload));
        if (workload.MeanServiceNs <= 0)
        {
            throw new UsageException($"model: workload {workload.Name} has no service time, so no capacity to take a fraction of; valid: {Workload.Names}");
        }
        List<ModelPolicy> policies = a.GetRequiredValue(o.Policy).Names.Select(ModelPolicies.Parse).ToList();
        List<int> workers = a.GetRequiredValue(o.Workers).Values.Select(v => v == Math.Floor(v)
            ? (int)v
            : throw new UsageException($"model: --workers takes a comma list of whole numbers from 1 to {ModelOptions.MaxWorkers}, not '{v.ToString(CultureInfo.InvariantCulture)}'")).ToList();
        IReadOnlyList<double> loads = a.GetRequiredValue(o.Loads).Values;
        double quantumUs = a.GetValue(o.QuantumUs);
        double dispatchNs = a.GetValue(o.DispatchNs);
        double preemptNs = a.GetValue(o.PreemptNs);
        int depth = a.GetValue(o.MailboxDepth);
        int capacity = a.GetValue(o.QueueCapacity);
        int requests = a.GetValue(o.Requests);
        double warmup = a.GetValue(o.Warmup);
        ulong seed = (ulong)a.GetValue(o.Seed);
        List<Slo> slos = a.GetValue(o.Slos) ?? [];
        string dir = ReportFiles.OutputDirectory(a.GetValue(o.Out), "model");

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

        ReportFiles.Finish(report, dir, slos, output, charts: !a.GetValue(o.NoCharts), indentedJson: false);
        // The simulator's speed, for a bench line: wall-clock, so it varies with the machine and is never asserted.
        output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model: {report.Points.Count} points, {simulated / 1e6:0.#} M requests simulated in {wallSeconds:0.#} s ({simulated / Math.Max(wallSeconds, 1e-9) / 1e6:0.#} M requests/s)"));
        return (report, dir);
    }
}
