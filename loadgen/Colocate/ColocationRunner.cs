// One colocated run: the LC spin app and the batch app on shared worker cores, measured phase by phase.
using NetStack.Apps.Batch;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Allocation;
using NetStack.IOKernel.Nic;
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Colocate;

/// <summary>One configuration to compare: an allocation policy, with or without the batch app.</summary>
/// <param name="Label">Its name in reports ("standing-queue", "static", "lc-alone").</param>
/// <param name="Allocation">static, standing-queue or queue-delay.</param>
/// <param name="WithBatch">Whether the batch app runs beside the LC app.</param>
internal sealed record ColocateConfig(string Label, string Allocation, bool WithBatch);

/// <summary>What every configuration of a colocate run shares.</summary>
internal sealed record ColocateSpec
{
    /// <summary>LC service-time distribution.</summary>
    public required Workload Workload { get; init; }
    /// <summary>The LC load pattern's phases.</summary>
    public required List<PatternPhase> Phases { get; init; }
    /// <summary>Pattern description.</summary>
    public required string Pattern { get; init; }
    /// <summary>Leading share of the run not recorded.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>IOKernel core.</summary>
    public int IOKernelCore { get; init; }
    /// <summary>Worker cores.</summary>
    public int[] WorkerCores { get; init; } = [1];
    /// <summary>LC scheduling policy.</summary>
    public string Policy { get; init; } = "ps";
    /// <summary>LC quantum.</summary>
    public double QuantumUs { get; init; } = 5;
    /// <summary>JBSQ's k.</summary>
    public int MailboxDepth { get; init; } = 2;
    /// <summary>Congestion check interval.</summary>
    public double IntervalUs { get; init; } = 5;
    /// <summary>queue-delay threshold.</summary>
    public double QueueDelayUs { get; init; } = 10;
    /// <summary>Idle time before an LC core goes to batch.</summary>
    public double ReleaseIdleUs { get; init; } = 2;
    /// <summary>Cores the LC app holds under a static partition.</summary>
    public int StaticLcCores { get; init; } = 1;
    /// <summary>Carrier back-off.</summary>
    public IdleStrategyKind CarrierIdle { get; init; } = IdleStrategyKind.Spin;
    /// <summary>Seed.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Gaps in a pinned thread's clock reads longer than this are stalls, µs.</summary>
    public double StallThresholdMicros { get; init; } = StallLog.DefaultThresholdMicros;
    /// <summary>Whole run, s.</summary>
    public double DurationS => Phases[^1].EndS;
}

/// <summary>What the rounds of one configuration add up to.</summary>
internal sealed class ColocationTotals(ColocateConfig config, int types, int phaseNames)
{
    /// <summary>The configuration.</summary>
    public ColocateConfig Config { get; } = config;
    /// <summary>LC latency over every round's measured part.</summary>
    public LatencyRecorder Whole { get; } = new(types);
    /// <summary>LC latency per phase name.</summary>
    public LatencyRecorder[] Phases { get; } = Enumerable.Range(0, phaseNames).Select(_ => new LatencyRecorder(types)).ToArray();
    /// <summary>Seconds and batch units per phase name.</summary>
    public double[] PhaseSeconds { get; } = new double[phaseNames];
    /// <summary>Batch units per phase name.</summary>
    public long[] PhaseUnits { get; } = new long[phaseNames];
    /// <summary>Grant latencies, µs: all, and from batch.</summary>
    public List<double> Grants { get; } = [];
    /// <summary>Grant latencies from batch, µs.</summary>
    public List<double> GrantsFromBatch { get; } = [];
    /// <summary>Grants from batch from the allocator's decision, µs.</summary>
    public List<double> GrantsFromBatchDecision { get; } = [];
    /// <summary>The first round's run (events, timeline, apps) and point.</summary>
    public ColocationRun? First { get; set; }
    /// <summary>Measured-window ticks (one core's worth), and within them ticks in LC slices and in batch, every worker summed.</summary>
    public double WindowTicks, LcTicks, BatchTicks;
    /// <summary>Worker cores.</summary>
    public int Workers;
    /// <summary>Kernel counts summed over rounds.</summary>
    public long Completed, Rejected, Errors, Unfinished, Requeues, CoreMoves;
    /// <summary>Measured seconds over rounds.</summary>
    public double MeasuredSeconds;
    /// <summary>Rounds run.</summary>
    public int Rounds;
    /// <summary>Stalls and the LC requests they touched, every round (made by the first).</summary>
    public StallAccounting? Stalls;
}

/// <summary>Runs rounds of one configuration and reports their sum.</summary>
internal static class ColocationRunner
{
    private const int MaxEventsInReport = 2000;
    private const int TimelineBuckets = 400;

    /// <summary>Runs one round of the configuration's pattern and adds it to <paramref name="totals"/>.</summary>
    public static void RunRound(ColocateSpec spec, ColocationTotals totals)
    {
        ColocateConfig config = totals.Config;
        int workers = spec.WorkerCores.Length;
        var lc = new AppOptions
        {
            Name = "spin",
            Policy = spec.Policy,
            QuantumMicros = spec.QuantumUs,
            MaxCores = workers,
            GuaranteedCores = config.Allocation == "static" ? Math.Min(spec.StaticLcCores, workers) : 0,
        };
        var job = new HashChainJob(workers);
        var apps = new List<AppRegistration> { AppRegistration.LatencyCritical(lc, new SpinApp()) };
        if (config.WithBatch)
        {
            apps.Add(AppRegistration.Batch(new AppOptions { Name = "batch", MaxCores = workers }, job));
        }
        var options = new KernelOptions
        {
            IOKernelCore = spec.IOKernelCore,
            WorkerCores = spec.WorkerCores,
            MailboxDepth = spec.MailboxDepth,
            CoreAllocation = config.Allocation,
            CongestionIntervalMicros = spec.IntervalUs,
            QueueDelayMicros = spec.QueueDelayUs,
            ReleaseIdleMicros = spec.ReleaseIdleUs,
            IOKernelIdle = IdleStrategyKind.Spin,
            CarrierIdle = spec.CarrierIdle,
            IdleSpinMicros = 100,
            StallThresholdMicros = spec.StallThresholdMicros,
        };

        long start = Clock.Now() + Clock.FromMicros(20_000);
        long[] phaseStarts = spec.Phases.Select(p => start + Clock.FromMicros(p.StartS * 1e6)).ToArray();
        List<string> names = spec.Phases.Select(p => p.Name).Distinct().ToList();
        int[] slot = spec.Phases.Select(p => names.IndexOf(p.Name)).ToArray();
        long measureFrom = start + Clock.FromMicros(spec.DurationS * spec.WarmupFraction * 1e6);
        long end = start + Clock.FromMicros(spec.DurationS * 1e6);
        var nic = new SyntheticNic(spec.Workload, LoadPattern.Rates(spec.Phases, spec.Workload.MeanServiceNs, 1), start,
            spec.Seed + (ulong)totals.Rounds);
        int types = spec.Workload.Types.Count;
        // The carriers' recorders first, then the IOKernel's own (detached completions: none here).
        double expected = spec.Phases.Sum(p => p.Load * 1e9 / spec.Workload.MeanServiceNs * (p.EndS - p.StartS));
        int logCapacity = RequestLog.CapacityFor(expected, workers);
        int made = 0;
        var kernel = new IOKernel.Kernel(options, nic, apps,
            () => new PhasedRecorder(types, phaseStarts, slot, names.Count, measureFrom, end, made++ < workers ? logCapacity : 0))
        {
            StopWhenExhausted = true,
            // The carriers' in-window busy and batch times cover the measured window only.
            MeasureAllocationsFrom = measureFrom,
            MeasureUntil = end,
        };

        kernel.Start();
        var unitsAtPhaseEnd = new long[spec.Phases.Count];
        for (int i = 0; i < spec.Phases.Count; i++)
        {
            Reports.ReportFiles.SleepUntil(start + Clock.FromMicros(spec.Phases[i].EndS * 1e6));
            unitsAtPhaseEnd[i] = kernel.Carriers.Sum(c => c.Batch.Units);
        }
        if (!kernel.Wait(TimeSpan.FromSeconds(30)))
        {
            kernel.RequestStop();
            kernel.Wait(Timeout.InfiniteTimeSpan);
        }

        List<PhasedRecorder> recorders = kernel.Recorders.Cast<PhasedRecorder>().ToList();
        foreach (PhasedRecorder r in recorders)
        {
            totals.Whole.Merge(r.Whole);
            for (int n = 0; n < names.Count; n++)
            {
                totals.Phases[n].Merge(r.Phases[n]);
            }
        }
        // Attributed round by round: each round has its own kernel, stall log and clock stretch.
        totals.Stalls ??= Sched.InProcessRun.Stalls(kernel, spec.IOKernelCore, types);
        totals.Stalls.AddRound(recorders.Select(r => r.Whole), kernel.Stalls.Snapshot(), kernel.Stalls.Overflowed, measureFrom, end);
        for (int i = 0; i < spec.Phases.Count; i++)
        {
            totals.PhaseSeconds[slot[i]] += spec.Phases[i].EndS - spec.Phases[i].StartS;
            totals.PhaseUnits[slot[i]] += unitsAtPhaseEnd[i] - (i == 0 ? 0 : unitsAtPhaseEnd[i - 1]);
        }

        AllocationLog log = kernel.AllocationLog;
        Func<int, bool> isLc = a => a >= 0 && kernel.Apps[a].IsLatencyCritical;
        Func<int, bool> isBatch = a => a >= 0 && !kernel.Apps[a].IsLatencyCritical;
        totals.Grants.AddRange(log.GrantLatenciesMicros(isLc));
        totals.GrantsFromBatch.AddRange(log.GrantLatenciesMicros(isLc, isBatch));
        totals.GrantsFromBatchDecision.AddRange(log.GrantLatenciesMicros(isLc, isBatch, fromDecision: true));
        // Over the measured window only: start-up and the drain are neither LC load nor batch's chance.
        totals.WindowTicks += end - measureFrom;
        totals.Workers = workers;
        totals.LcTicks += kernel.Carriers.Sum(c => (double)c.BusyTicksInWindow);
        totals.BatchTicks += kernel.Carriers.Sum(c => (double)c.BatchTicksInWindow);
        KernelCounters c = kernel.Counters;
        totals.Completed += c.Completed;
        totals.Rejected += c.Rejected;
        totals.Errors += c.Errors;
        totals.Unfinished += c.Unfinished;
        totals.Requeues += c.Requeues;
        totals.CoreMoves += c.CoreMoves;
        totals.MeasuredSeconds += spec.DurationS * (1 - spec.WarmupFraction);
        totals.Rounds++;

        if (totals.First is null)
        {
            var run = new ColocationRun
            {
                Label = config.Label,
                AllocationPolicy = config.Allocation,
                Pattern = spec.Pattern,
                Apps = kernel.Apps.Select(a => new AppInfo
                {
                    Name = a.Name,
                    Priority = a.IsLatencyCritical ? "latency-critical" : "batch",
                    GuaranteedCores = a.Options.GuaranteedCores,
                    MaxCores = a.Options.MaxCores,
                }).ToList(),
            };
            string Name(int app) => app < 0 ? "idle" : kernel.Apps[app].Name;
            foreach (AllocationRecord r in log.Records)
            {
                if (run.Events.Count >= MaxEventsInReport)
                {
                    break;
                }
                run.Events.Add(new AllocationEvent
                {
                    TimeUs = Clock.ToMicros(r.DecidedTicks == 0 ? 0 : r.DecidedTicks - start),
                    Core = spec.WorkerCores[r.Worker],
                    From = Name(r.From),
                    To = Name(r.To),
                    Reason = r.Reason.ToString().ToLowerInvariant(),
                    LatencyUs = Clock.ToMicros(r.LatencyTicks),
                });
            }
            run.Timeline = Timeline(log, kernel.Apps.Select(a => a.Name).ToList(), workers, start, end);
            totals.First = run;
        }
    }

    /// <summary>The report of every round run so far.</summary>
    public static (ColocationRun Run, PointReport Point) Report(ColocateSpec spec, ColocationTotals totals)
    {
        ColocationRun run = totals.First ?? throw new InvalidOperationException("no round ran");
        List<string> names = spec.Phases.Select(p => p.Name).Distinct().ToList();
        List<string> typeNames = spec.Workload.Types.Select(t => t.Name).ToList();
        (ClassReport all, List<ClassReport> typeReports) = totals.Whole.ToClasses(typeNames);
        run.Phases.Clear();
        for (int n = 0; n < names.Count; n++)
        {
            run.Phases.Add(new PhaseReport
            {
                Name = names[n],
                StartS = spec.Phases.First(p => p.Name == names[n]).StartS,
                EndS = spec.Phases.Last(p => p.Name == names[n]).EndS,
                LcLoad = spec.Phases.First(p => p.Name == names[n]).Load,
                Lc = totals.Phases[n].ToClasses(typeNames).All,
                BatchUnitsPerSecond = totals.PhaseSeconds[n] > 0 ? totals.PhaseUnits[n] / totals.PhaseSeconds[n] : 0,
            });
        }
        run.GrantLatencyUs = SummaryOf(totals.Grants);
        run.GrantFromBatchLatencyUs = SummaryOf(totals.GrantsFromBatch);
        run.GrantFromBatchDecisionLatencyUs = SummaryOf(totals.GrantsFromBatchDecision);
        run.BatchUnitsPerSecond = totals.PhaseUnits.Sum() / Math.Max(1e-9, totals.PhaseSeconds.Sum());
        // The IOKernel's core is a core the system spends: counted in the time available, it never runs app work.
        double allCores = (totals.Workers + 1) * totals.WindowTicks;
        double workerCores = totals.Workers * totals.WindowTicks;
        run.CpuEfficiency = (totals.LcTicks + totals.BatchTicks) / Math.Max(1, allCores);
        run.WorkerCpuEfficiency = (totals.LcTicks + totals.BatchTicks) / Math.Max(1, workerCores);
        run.BatchShareOfIdle = totals.Config.WithBatch ? totals.BatchTicks / Math.Max(1, allCores - totals.LcTicks) : null;
        run.BatchShareOfWorkerIdle = totals.Config.WithBatch ? totals.BatchTicks / Math.Max(1, workerCores - totals.LcTicks) : null;
        run.MeasuredS = Clock.ToMicros((long)totals.WindowTicks) / 1e6;

        var point = new PointReport
        {
            System = totals.Config.Label,
            Policy = spec.Policy,
            QuantumUs = spec.Policy == "ps" ? spec.QuantumUs : 0,
            Workers = spec.WorkerCores.Length,
            MailboxDepth = spec.MailboxDepth,
            OfferedLoad = spec.Phases.Max(p => p.Load),
            OfferedRps = spec.Phases.Max(p => p.Load) * 1e9 / spec.Workload.MeanServiceNs,
            AchievedRps = totals.Whole.CompletedInWindow / Math.Max(1e-9, totals.MeasuredSeconds),
            Completed = totals.Completed,
            Dropped = totals.Rejected,
            Errors = totals.Errors,
            Unfinished = totals.Unfinished,
            Preemptions = totals.Requeues,
            All = all,
            Types = typeReports,
            WorkerBusyFraction = run.WorkerCpuEfficiency,
            PreemptionLatencyNs = totals.Whole.PreemptionLatency.TotalCount == 0 ? null : Summary.From(totals.Whole.PreemptionLatency, 1.0),
        };
        totals.Stalls?.WriteTo(point, typeNames);
        return (run, point);
    }

    /// <summary>Percentiles of a list of values.</summary>
    public static Summary SummaryOf(IEnumerable<double> values)
    {
        double[] v = values.Order().ToArray();
        if (v.Length == 0)
        {
            return new Summary();
        }
        double At(double p) => v[Math.Min(v.Length - 1, (int)Math.Ceiling(p / 100 * v.Length) - 1)];
        return new Summary { Count = v.Length, P50 = At(50), P99 = At(99), P999 = At(99.9), Max = v[^1], Mean = v.Average() };
    }

    /// <summary>Average cores each app held in each time bucket, from the log's moves (a move takes
    /// effect when its carrier starts serving the new owner).</summary>
    private static List<CoreSample> Timeline(AllocationLog log, List<string> apps, int workers, long start, long end)
    {
        long bucket = Math.Max(1, (end - start) / TimelineBuckets);
        var held = new double[TimelineBuckets, apps.Count];
        for (int w = 0; w < workers; w++)
        {
            int owner = -1;
            long since = start;
            foreach (AllocationRecord r in log.Records)
            {
                if (r.Worker != w)
                {
                    continue;
                }
                long at = r.Reason == AllocationReason.Initial ? start : Math.Max(start, r.RunningTicks != 0 ? r.RunningTicks : r.DecidedTicks);
                Accumulate(held, owner, since, Math.Min(at, end), start, bucket);
                owner = r.To;
                since = at;
            }
            Accumulate(held, owner, since, end, start, bucket);
        }
        var samples = new List<CoreSample>();
        for (int b = 0; b < TimelineBuckets; b++)
        {
            for (int a = 0; a < apps.Count; a++)
            {
                samples.Add(new CoreSample { TimeUs = Clock.ToMicros(b * bucket), App = apps[a], Cores = held[b, a] / bucket });
            }
        }
        return samples;
    }

    private static void Accumulate(double[,] held, int app, long from, long to, long start, long bucket)
    {
        if (app < 0 || to <= from)
        {
            return;
        }
        for (long t = from; t < to;)
        {
            int b = (int)((t - start) / bucket);
            if (b >= held.GetLength(0))
            {
                break;
            }
            long bucketEnd = start + (b + 1) * bucket;
            long until = Math.Min(to, bucketEnd);
            held[b, app] += until - t;
            t = until;
        }
    }
}
