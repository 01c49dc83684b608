// The `sched` verb: NetStack in-process over the synthetic NIC, policies side by side at each load.
using System.CommandLine;
using System.Globalization;
using NetStack.IOKernel.Policies;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Reports;
using NetStack.Measurement.Reports;
using NetStack.Runtime;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Sched;

/// <summary>
/// <c>sched --workload NAME --policy cfcfs|ps|dfcfs[,..] [--quantum-us 5] [--workers N] [--loads 0.1,0.5,0.9] ...</c>
/// (<see cref="SchedOptions"/>): runs every listed policy at each load, interleaved (load by load, policy by
/// policy), so they meet the same machine conditions, and writes report.json and report.md; with --model,
/// the queueing model's points beside the measured ones.
/// </summary>
internal static class SchedCommand
{
    /// <summary>The verb, for the program's root command: runs and writes the report to the console.</summary>
    public static Command Create(string commandLine)
    {
        var options = new SchedOptions();
        return VerbParser.WithAction(options.Command(), result => Execute(options, result, commandLine, Console.Out));
    }

    /// <summary>Runs the verb from its arguments (as the demo runs it); see the other overload.</summary>
    public static (RunReport Report, string Dir) Execute(IReadOnlyList<string> args, string commandLine, TextWriter? output)
    {
        var options = new SchedOptions();
        return Execute(options, VerbParser.Parse(options.Command(), args), commandLine, output);
    }

    /// <summary>Runs the verb; writes the report and (unless --no-charts) its charts to its folder,
    /// and the markdown and file paths to <paramref name="output"/> when given. Returns the report and the folder.</summary>
    public static (RunReport Report, string Dir) Execute(SchedOptions o, ParseResult a, string commandLine, TextWriter? output)
    {
        Workload workload = CommonOptions.WorkloadOf(a.GetRequiredValue(o.Workload));
        IReadOnlyList<string> policies = a.GetRequiredValue(o.Policy).Names;
        double quantum = a.GetValue(o.QuantumUs);
        (int ioCore, int[] workerCores) = o.Cores.Resolve(a);
        IReadOnlyList<double> loads = a.GetRequiredValue(o.Loads).Values;
        if (workload.MeanServiceNs <= 0 && loads.Any(l => !double.IsPositiveInfinity(l)))
        {
            throw new UsageException($"sched: workload {workload.Name} has no capacity to take a fraction of; use --loads max");
        }
        double duration = a.GetValue(o.DurationS);
        double warmup = a.GetValue(o.Warmup);
        int depth = a.GetValue(o.MailboxDepth);
        int queueCapacity = a.GetValue(o.QueueCapacity);
        bool workerCheck = !a.GetValue(o.NoWorkerQuantumCheck);
        bool workerHolds = a.GetValue(o.WorkerHolds);
        IdleStrategyKind idle = CommonOptions.IdleOf(a.GetRequiredValue(o.Idle));
        ulong seed = (ulong)a.GetValue(o.Seed);
        int trace = a.GetValue(o.Trace);
        double stallThreshold = a.GetValue(o.StallThreshold);
        List<Slo> slos = a.GetValue(o.Slos) ?? [];
        string metricsMode = a.GetRequiredValue(o.Metrics);
        int metricsPort = a.GetValue(o.MetricsPort);
        Model.ModelCosts? modelCosts = o.Model.Read(a);
        string dir = ReportFiles.OutputDirectory(a.GetValue(o.Out), "sched");

        var report = ReportFiles.Begin("sched", commandLine, workload, new RunConfig
        {
            DurationS = duration,
            WarmupFraction = warmup,
            IOKernelCore = ioCore,
            WorkerCores = workerCores,
            CarrierIdle = idle.ToString(),
            IOKernelIdle = IdleStrategyKind.Spin.ToString(),
            Seed = seed,
        });
        NoteSmallMachine(report.Config, workerCores.Length);
        report.Machine.CrossCoreRoundTripNs = Noise.CrossCoreProbe.RoundTripNs(ioCore, workerCores[0]);
        Noise.MemoryProbe.Record(report, ioCore);
        // One pipeline for the whole run: the counters add up across points, as a scraper would see them.
        using InProcessMetrics? metrics = InProcessMetrics.Start(metricsMode, metricsPort);
        if (metrics is not null)
        {
            report.Config.Notes.Add(metrics.Description);
            Console.Error.WriteLine($"sched: {metrics.Description}");
        }

        // A short discarded point of every policy first, at the lowest load: the first run of each
        // code path (JIT, first preemptions) would otherwise land on whichever point runs first.
        foreach (string policy in policies)
        {
            InProcessRun.Run(new SchedPoint
            {
                Workload = workload, Policy = policy, Load = loads.Min(), QuantumUs = quantum, IOKernelCore = ioCore,
                WorkerCores = workerCores, MailboxDepth = depth, QueueCapacity = queueCapacity, WorkerQuantumCheck = workerCheck, WorkerHoldsYielded = workerHolds, DurationS = Math.Min(0.3, duration),
                CarrierIdle = idle, Seed = seed + 1,
            });
        }
        report.Config.Notes.Add("each policy ran a discarded warm-up point first");
        if (!workerCheck && policies.Contains("ps"))
        {
            report.Config.Notes.Add("ps: slices end only when the IOKernel asks (--no-worker-quantum-check)");
        }
        else if (workerHolds && policies.Contains("ps"))
        {
            report.Config.Notes.Add("ps: a worker keeps a request it yields for one in its mailbox and resumes it right after (--worker-holds)");
        }
        if (queueCapacity != o.QueueCapacity.GetDefaultValue() as int?)
        {
            report.Config.Notes.Add($"central queue bound {queueCapacity} requests (--queue-capacity)");
        }
        report.Config.Notes.Add(StallNote(stallThreshold));
        var progress = new Progress(loads.Count * policies.Count, duration + 0.2);
        foreach (double load in loads)
        {
            foreach (string policy in policies)
            {
                string loadText = double.IsPositiveInfinity(load) ? "max" : load.ToString("0.###", CultureInfo.InvariantCulture);
                progress.Starting($"{workload.Name} {policy} load {loadText}");
                // A ceiling is bound by the cross-core round trip, which moves during a day on a VM:
                // measured just before the point, so requests per round trip travels between machines.
                double? roundTripNs = double.IsPositiveInfinity(load) ? Noise.CrossCoreProbe.RoundTripNs(ioCore, workerCores[0]) : null;
                SchedPointResult result = InProcessRun.Run(new SchedPoint
                {
                    Workload = workload,
                    Policy = policy,
                    Load = load,
                    QuantumUs = quantum,
                    IOKernelCore = ioCore,
                    WorkerCores = workerCores,
                    MailboxDepth = depth,
                    QueueCapacity = queueCapacity,
                    WorkerQuantumCheck = workerCheck, WorkerHoldsYielded = workerHolds,
                    DurationS = duration,
                    WarmupFraction = warmup,
                    CarrierIdle = idle,
                    Seed = seed,
                    TraceCapacity = trace,
                    Metrics = metrics?.Metrics,
                    StallThresholdMicros = stallThreshold,
                });
                if (roundTripNs is { } rt && !double.IsNaN(rt))
                {
                    result.Report.CrossCoreRoundTripNs = rt;
                    result.Report.RequestsPerRoundTrip = result.Report.AchievedRps * rt / 1e9;
                    // And again just after: a VM's vCPUs can move between host cores during a point, and a
                    // round trip that moved says the per-round-trip figure does not describe the point.
                    result.Report.CrossCoreRoundTripAfterNs = Noise.CrossCoreProbe.RoundTripNs(ioCore, workerCores[0]);
                }
                report.Points.Add(result.Report);
                if (result.Kernel.Trace is { } t)
                {
                    using var w = new StreamWriter(Path.Combine(dir, $"trace-{policy}-{loadText}.csv"));
                    t.WriteCsv(w, result.OriginTicks);
                }
                progress.Finished(OneLine(result.Report));
            }
        }

        if (modelCosts is not null)
        {
            Model.SchedModel.AddPoints(report, workload, modelCosts, new SchedPoint
            {
                Workload = workload, Policy = policies[0], Load = loads.Min(), QuantumUs = quantum, IOKernelCore = ioCore,
                WorkerCores = workerCores, MailboxDepth = depth, QueueCapacity = queueCapacity, WorkerQuantumCheck = workerCheck, WorkerHoldsYielded = workerHolds, DurationS = duration, WarmupFraction = warmup, CarrierIdle = idle, Seed = seed,
            });
        }
        ReportFiles.Finish(report, dir, slos, output, charts: !a.GetValue(o.NoCharts));
        return (report, dir);
    }

    /// <summary>One-line summary of a point for progress output.</summary>
    public static string OneLine(PointReport p)
    {
        string types = string.Join("; ", (p.Types.Count > 1 ? p.Types : [p.All]).Select(c =>
            string.Create(CultureInfo.InvariantCulture, $"{c.Name} p99.9 {c.LatencyUs.P999:0.#} µs, slowdown {c.Slowdown.P999:0.#}")));
        string perRoundTrip = p.RequestsPerRoundTrip is { } rpr
            ? string.Create(CultureInfo.InvariantCulture, $" ({rpr:0.##} per {p.CrossCoreRoundTripNs:0} ns round trip{(p.RoundTripMoved ? $", {p.CrossCoreRoundTripAfterNs:0} ns after: moved" : "")})")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.AchievedRps / 1000:0.#} krps done{perRoundTrip}, {p.Dropped} dropped, {p.Preemptions} preemptions; {types}");
    }

    /// <summary>The note every in-process report carries: how stalls were found and what untouched means.</summary>
    public static string StallNote(double thresholdMicros) => FormattableString.Invariant(
        $"stalls: the IOKernel, every carrier and the spin handler log each gap over {thresholdMicros:0.#} µs in their own clock reads ") +
        "(the VM took the core); every request of a busy period (a stretch with requests in flight) that a stall on any core overlapped " +
        "is left out of the untouched figures, which show the scheduler without the machine's pauses";

    /// <summary>What a machine with few cores cannot show, written into every report made on it.</summary>
    public static void NoteSmallMachine(RunConfig config, int workers)
    {
        if (Environment.ProcessorCount <= workers + 1)
        {
            config.Notes.Add($"{Environment.ProcessorCount} cores: the IOKernel and {workers} worker(s) spin on every core, so the OS, " +
                "the JIT and this process's other threads preempt them now and then; tails include those hiccups");
        }
    }

}
