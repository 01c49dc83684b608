// The `colocate` verb: an LC spin app and the batch app on the same cores, under each core-allocation policy.
using System.CommandLine;
using System.Globalization;
using System.Text;
using NetStack.IOKernel.Allocation;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Colocate;

/// <summary>
/// <c>colocate --workload exp-10 --lc-load 0.5 [--pattern steady|step|bursts] [--allocation standing-queue,static,alone]</c>:
/// runs the spin app (latency-critical) beside the hash-chain batch app in this process over the
/// synthetic NIC, once per listed configuration, and reports LC latency per phase, batch throughput,
/// cores per app over time, grant latency and CPU efficiency. "alone" is the LC app without batch.
/// LC loads are fractions of one core.
/// </summary>
internal static class ColocateCommand
{
    /// <summary>The verb, for the program's root command: runs and writes the report to the console.</summary>
    public static Command Create(string commandLine)
    {
        var options = new ColocateOptions();
        return VerbParser.WithAction(options.Command(), result => Execute(options, result, commandLine, Console.Out));
    }

    /// <summary>Runs the verb from its arguments (as the demo runs it); see the other overload.</summary>
    public static (RunReport Report, string Dir) Execute(IReadOnlyList<string> args, string commandLine, TextWriter? output)
    {
        var options = new ColocateOptions();
        return Execute(options, VerbParser.Parse(options.Command(), args), commandLine, output);
    }

    /// <summary>Runs the verb; writes the report and (unless --no-charts) its charts to its folder,
    /// and the markdown and file paths to <paramref name="output"/> when given. Returns the report and the folder.</summary>
    public static (RunReport Report, string Dir) Execute(ColocateOptions o, ParseResult a, string commandLine, TextWriter? output)
    {
        Workload workload = CommonOptions.WorkloadOf(a.GetRequiredValue(o.Workload));
        if (workload.MeanServiceNs <= 0)
        {
            throw new UsageException($"colocate: workload {workload.Name} has no service time to load a core with");
        }
        double high = a.GetValue(o.LcLoad);
        double low = a.GetValue(o.LcLow);
        string pattern = a.GetRequiredValue(o.Pattern);
        double duration = a.GetValue(o.DurationS);
        double burstS = a.GetValue(o.BurstMs) / 1000;
        int rounds = a.GetValue(o.Rounds);
        // Each round runs the whole pattern, compressed to its share of the duration, and the
        // configurations take turns round by round: a stall of the machine lands on all of them alike.
        List<PatternPhase> phases = LoadPattern.Build(pattern, duration / rounds, high, low, burstS);
        IReadOnlyList<string> configs = a.GetRequiredValue(o.Allocation).Names;
        (int ioCore, int[] workerCores) = o.Cores.Resolve(a);
        int staticLcCores = a.GetValue(o.StaticLcCores) ?? Math.Max(1, workerCores.Length / 2);
        if (staticLcCores > workerCores.Length)
        {
            throw new UsageException($"colocate: --static-lc-cores must be an integer from 1 to {workerCores.Length} (the worker cores), not '{staticLcCores}'");
        }
        var spec = new ColocateSpec
        {
            Workload = workload,
            Phases = phases,
            Pattern = LoadPattern.Describe(pattern, high, low),
            WarmupFraction = a.GetValue(o.Warmup),
            IOKernelCore = ioCore,
            WorkerCores = workerCores,
            Policy = a.GetRequiredValue(o.Policy),
            QuantumUs = a.GetValue(o.QuantumUs),
            MailboxDepth = a.GetValue(o.MailboxDepth),
            IntervalUs = a.GetValue(o.IntervalUs),
            QueueDelayUs = a.GetValue(o.QueueDelayUs),
            ReleaseIdleUs = a.GetValue(o.ReleaseIdleUs),
            StaticLcCores = staticLcCores,
            CarrierIdle = CommonOptions.IdleOf(a.GetRequiredValue(o.Idle)),
            Seed = (ulong)a.GetValue(o.Seed),
            StallThresholdMicros = a.GetValue(o.StallThreshold),
        };
        string dir = ReportFiles.OutputDirectory(a.GetValue(o.Out), "colocate");

        var report = ReportFiles.Begin("colocate", commandLine, workload, new RunConfig
        {
            DurationS = duration,
            WarmupFraction = spec.WarmupFraction,
            IOKernelCore = ioCore,
            WorkerCores = workerCores,
            CarrierIdle = spec.CarrierIdle.ToString(),
            IOKernelIdle = "Spin",
            Seed = spec.Seed,
        });
        report.Colocations = [];
        report.Config.Notes.Add(SchedCommand.StallNote(spec.StallThresholdMicros));
        SchedCommand.NoteSmallMachine(report.Config, workerCores.Length);
        report.Machine.CrossCoreRoundTripNs = Noise.CrossCoreProbe.RoundTripNs(ioCore, workerCores[0]);
        Noise.MemoryProbe.Record(report, ioCore);
        if (workerCores.Length == 1)
        {
            report.Config.Notes.Add("one worker core: a static partition must give it wholly to the LC app, so batch gets nothing under static");
        }

        var totals = configs.Select(name => new ColocationTotals(
            name == "alone" ? new ColocateConfig("lc-alone", "static", WithBatch: false) : new ColocateConfig(name, name, WithBatch: true),
            workload.Types.Count, phases.Select(p => p.Name).Distinct().Count())).ToList();
        // A discarded warm-up round of every configuration first: the first run of each code path
        // (JIT, first hashes, first grants) would otherwise land on whichever configuration runs first.
        var warmup = spec with { Phases = LoadPattern.Build(pattern, Math.Min(0.3, duration / rounds), high, low, burstS) };
        foreach (ColocationTotals t in totals)
        {
            ColocationRunner.RunRound(warmup, new ColocationTotals(t.Config, workload.Types.Count, phases.Select(p => p.Name).Distinct().Count()));
        }
        var progress = new Progress(configs.Count * rounds, duration / rounds + 0.3);
        for (int round = 0; round < rounds; round++)
        {
            foreach (ColocationTotals t in totals)
            {
                progress.Starting($"{workload.Name} {spec.Pattern}: {t.Config.Label}, round {round + 1} of {rounds}");
                ColocationRunner.RunRound(spec, t);
                progress.Finished($"{t.Config.Label}: round {round + 1} done");
            }
        }
        foreach (ColocationTotals t in totals)
        {
            (ColocationRun run, PointReport point) = ColocationRunner.Report(spec, t);
            report.Colocations.Add(run);
            report.Points.Add(point);
        }
        report.Config.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"{rounds} rounds of {duration / rounds:0.##} s per configuration, configurations alternating round by round, after a discarded warm-up round of each; latency histograms and counts are summed over rounds"));

        report.Save(Path.Combine(dir, "report.json"));
        string markdown = MarkdownReport.Render(report) + Environment.NewLine + Render(report);
        File.WriteAllText(Path.Combine(dir, "report.md"), markdown);
        output?.WriteLine(markdown);
        output?.WriteLine($"wrote {Path.Combine(dir, "report.json")} and report.md");
        if (!a.GetValue(o.NoCharts))
        {
            NetStack.Charts.ChartRenderer.RenderAndList(report, dir, output ?? TextWriter.Null);
        }
        return (report, dir);
    }

    /// <summary>The colocation section of report.md.</summary>
    public static string Render(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## Colocation");
        sb.AppendLine();
        PointReport? alonePoint = r.Points.FirstOrDefault(p => p.System == "lc-alone");
        sb.AppendLine("Over the measured window of every round. Batch's share of the LC-idle time and CPU efficiency are given over all the run's cores " +
            "(the IOKernel's counted: it is a core the system spends) and over the worker cores alone. Grant latency runs from the congestion check " +
            "that first saw the queue (for a standing queue, the check before the one that decided) to the new owner running; \"from decision\" is the move alone.");
        sb.AppendLine();
        sb.AppendLine("| configuration | LC p50 µs | LC p99 µs | LC p99.9 µs | p99.9 vs alone | untouched p99 / p99.9 µs | untouched p99.9 vs alone | batch units/s | batch share of LC-idle time (all cores / workers) | CPU efficiency (all cores / workers) | grants from batch | grant p50 µs | grant p99 µs | from decision p50 / p99 µs |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (ColocationRun run in r.Colocations ?? [])
        {
            PointReport p = r.Points.First(x => x.System == run.Label);
            string ratio = alonePoint is { All.LatencyUs.P999: > 0 } ? Inv($"{p.All.LatencyUs.P999 / alonePoint.All.LatencyUs.P999:0.##}×") : "–";
            UntouchedClass? u = p.All.Untouched, ua = alonePoint?.All.Untouched;
            string untouched = u is { Count: > 0 } ? Inv($"{u.LatencyUs.P99:0.#} / {u.LatencyUs.P999:0.#}") : "–";
            string untouchedRatio = u is { Count: > 0 } && ua is { LatencyUs.P999: > 0 } ? Inv($"{u.LatencyUs.P999 / ua.LatencyUs.P999:0.##}×") : "–";
            string share = run.BatchShareOfIdle is { } s ? Inv($"{s:P1} / {run.BatchShareOfWorkerIdle:P1}") : "–";
            Summary g = run.GrantFromBatchLatencyUs, d = run.GrantFromBatchDecisionLatencyUs;
            sb.AppendLine(Inv($"| {run.Label} | {p.All.LatencyUs.P50:0.#} | {p.All.LatencyUs.P99:0.#} | {p.All.LatencyUs.P999:0.#} | {ratio} | {untouched} | {untouchedRatio} | {run.BatchUnitsPerSecond:0} | {share} | {run.CpuEfficiency:P1} / {run.WorkerCpuEfficiency:P1} | {g.Count} | {g.P50:0.##} | {g.P99:0.##} | {d.P50:0.##} / {d.P99:0.##} |"));
        }
        sb.AppendLine();
        sb.AppendLine("Per phase:");
        sb.AppendLine();
        sb.AppendLine("| configuration | phase | LC load | LC n | LC p50 µs | LC p99 µs | LC p99.9 µs | batch units/s |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (ColocationRun run in r.Colocations ?? [])
        {
            foreach (PhaseReport ph in run.Phases)
            {
                sb.AppendLine(Inv($"| {run.Label} | {ph.Name} | {ph.LcLoad:0.##} | {ph.Lc.Count} | {ph.Lc.LatencyUs.P50:0.#} | {ph.Lc.LatencyUs.P99:0.#} | {ph.Lc.LatencyUs.P999:0.#} | {ph.BatchUnitsPerSecond:0} |"));
            }
        }
        return sb.ToString();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
