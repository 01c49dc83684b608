// The `sched` verb: NetStack in-process over the synthetic NIC, policies side by side at each load.
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
/// <c>sched --workload NAME --policy cfcfs|ps|dfcfs[,..] [--quantum-us 5] [--workers N] [--loads 0.1,0.5,0.9]
/// [--duration-s S] [--out DIR] [--model]</c>: runs every listed policy at each load, interleaved (load by
/// load, policy by policy), so they meet the same machine conditions, and writes report.json and report.md;
/// with --model, the queueing model's points beside the measured ones.
/// </summary>
internal static class SchedCommand
{
    /// <summary>Usage line.</summary>
    public const string Usage =
        "sched --workload NAME --policy cfcfs|ps|dfcfs[,...] [--quantum-us 5] [--workers N] [--loads 0.1,0.5,0.9|max] " +
        "[--duration-s 2] [--warmup 0.1] [--mailbox-depth 2] [--iokernel-core 0] [--worker-cores 1,..] " +
        "[--idle spin|spin-yield|spin-park] [--seed 42] [--slo \"p99.9-slowdown<=50\"[,...]] [--stall-threshold-us 20] [--trace N] [--out DIR] [--no-charts] " +
        "[--metrics none|console|prometheus] [--metrics-port 9464] " + Model.SchedModel.Usage;

    private static readonly string[] s_options =
    [
        "workload", "policy", "quantum-us", "workers", "loads", "duration-s", "warmup", "mailbox-depth",
        "iokernel-core", "worker-cores", "idle", "seed", "slo", "trace", "out", "metrics", "metrics-port", "stall-threshold-us", .. Model.SchedModel.Options,
    ];

    /// <summary>Parses, runs every point, writes the reports; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args, string commandLine)
    {
        Execute(args, commandLine, Console.Out);
        return 0;
    }

    /// <summary>Runs the verb; writes the report and (unless --no-charts) its charts to its folder,
    /// and the markdown and file paths to <paramref name="output"/> when given. Returns the report and the folder.</summary>
    public static (RunReport Report, string Dir) Execute(IReadOnlyList<string> args, string commandLine, TextWriter? output)
    {
        var a = new ArgParser("sched", args, s_options, ["no-charts", Model.SchedModel.Flag]);
        Workload workload = ParseWorkload(a.Require("workload"));
        List<string> policies = a.GetChoiceList("policy", "ps", ["cfcfs", "ps", "dfcfs"], "policy");
        double quantum = a.GetDouble("quantum-us", 5, IOKernel.KernelOptions.MinQuantumMicros, IOKernel.KernelOptions.MaxQuantumMicros);
        (int ioCore, int[] workerCores) = ParseCores(a);
        List<double> loads = a.GetDoubleList("loads", [0.1, 0.5, 0.9], 0.001, 10, allowMax: true);
        if (workload.MeanServiceNs <= 0 && loads.Any(l => !double.IsPositiveInfinity(l)))
        {
            throw new UsageException($"sched: workload {workload.Name} has no capacity to take a fraction of; use --loads max");
        }
        double duration = a.GetDouble("duration-s", 2, 0.05, 3600);
        double warmup = a.GetDouble("warmup", 0.1, 0, 0.9);
        int depth = a.GetInt("mailbox-depth", 2, 1, IOKernel.KernelOptions.MaxMailboxDepth);
        IdleStrategyKind idle = ParseIdle(a.Get("idle", "spin")!);
        ulong seed = (ulong)a.GetInt("seed", 42, 0);
        int trace = a.GetInt("trace", 0, 0, 10_000_000);
        double stallThreshold = ParseStallThreshold(a);
        List<Slo> slos = ParseSlos(a.Get("slo"));
        string metricsMode = a.GetChoiceList("metrics", "none", InProcessMetrics.Modes, "metrics exporter") is [var m] ? m
            : throw new UsageException("sched: --metrics takes one of none, console, prometheus");
        int metricsPort = a.GetInt("metrics-port", 9464, 1, 65535);
        Model.ModelCosts? modelCosts = Model.SchedModel.Parse(a);
        string dir = ReportFiles.OutputDirectory(a.Get("out"), "sched");

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
                WorkerCores = workerCores, MailboxDepth = depth, DurationS = Math.Min(0.3, duration), CarrierIdle = idle, Seed = seed + 1,
            });
        }
        report.Config.Notes.Add("each policy ran a discarded warm-up point first");
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
                WorkerCores = workerCores, MailboxDepth = depth, DurationS = duration, WarmupFraction = warmup, CarrierIdle = idle, Seed = seed,
            });
        }
        ReportFiles.Finish(report, dir, slos, output, charts: !a.Has("no-charts"));
        return (report, dir);
    }

    /// <summary>One-line summary of a point for progress output.</summary>
    public static string OneLine(PointReport p)
    {
        string types = string.Join("; ", (p.Types.Count > 1 ? p.Types : [p.All]).Select(c =>
            string.Create(CultureInfo.InvariantCulture, $"{c.Name} p99.9 {c.LatencyUs.P999:0.#} µs, slowdown {c.Slowdown.P999:0.#}")));
        string perRoundTrip = p.RequestsPerRoundTrip is { } rpr
            ? string.Create(CultureInfo.InvariantCulture, $" ({rpr:0.##} per {p.CrossCoreRoundTripNs:0} ns round trip)")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.AchievedRps / 1000:0.#} krps done{perRoundTrip}, {p.Dropped} dropped, {p.Preemptions} preemptions; {types}");
    }

    /// <summary>A workload by name, or a usage error listing them.</summary>
    public static Workload ParseWorkload(string name) =>
        Workload.TryGet(name, out Workload? w) ? w : throw new UsageException($"unknown workload '{name}'; valid: {Workload.Names}");

    /// <summary>A comma list of SLOs (none when absent), or a usage error with the syntax.</summary>
    public static List<Slo> ParseSlos(string? text) => text is null
        ? []
        : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseSlo).ToList();

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

    /// <summary>--stall-threshold-us: gaps in a pinned thread's own clock reads longer than this are stalls.</summary>
    public static double ParseStallThreshold(ArgParser a) =>
        a.GetDouble("stall-threshold-us", StallLog.DefaultThresholdMicros, 1, 1_000_000);

    /// <summary>The note every in-process report carries: how stalls were found and what untouched means.</summary>
    public static string StallNote(double thresholdMicros) => FormattableString.Invariant(
        $"stalls: the IOKernel, every carrier and the spin handler log each gap over {thresholdMicros:0.#} µs in their own clock reads ") +
        "(the VM took the core); every request of a busy period (a stretch with requests in flight) that a stall on any core overlapped " +
        "is left out of the untouched figures, which show the scheduler without the machine's pauses";

    /// <summary>The idle strategy by its command-line name.</summary>
    public static IdleStrategyKind ParseIdle(string text) => text switch
    {
        "spin" => IdleStrategyKind.Spin,
        "spin-yield" => IdleStrategyKind.SpinYield,
        "spin-park" => IdleStrategyKind.SpinPark,
        _ => throw new UsageException($"unknown idle strategy '{text}'; valid: spin, spin-yield, spin-park"),
    };

    /// <summary>--iokernel-core and --worker-cores (or --workers N: cores after the IOKernel's), checked against this machine.</summary>
    public static (int IOKernelCore, int[] WorkerCores) ParseCores(ArgParser a)
    {
        IReadOnlyList<int> available = Affinity.AvailableCores();
        int ioCore = a.GetInt("iokernel-core", available[0], 0);
        int[] workerCores;
        if (a.Get("worker-cores") is { } list)
        {
            workerCores = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out int c) ? c : throw new UsageException($"--worker-cores: '{s}' is not a core number"))
                .ToArray();
        }
        else
        {
            int workers = a.GetInt("workers", 1, 1, 1024);
            workerCores = available.Where(c => c != ioCore).Take(workers).ToArray();
            if (workerCores.Length < workers)
            {
                throw new UsageException(
                    $"--workers {workers} needs {workers + 1} cores (the IOKernel's and one per worker); this machine has {available.Count}: {Affinity.Describe(available)}");
            }
        }
        try
        {
            Affinity.Validate([ioCore, .. workerCores]);
        }
        catch (CoreNotAvailableException e)
        {
            throw new UsageException(e.Message);
        }
        return (ioCore, workerCores);
    }

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
