// One in-process point: NetStack over the synthetic NIC at one offered load, measured and reported.
using NetStack.Apps.Hosting;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Sched;

/// <summary>What one in-process point runs.</summary>
internal sealed record SchedPoint
{
    /// <summary>Service-time distribution.</summary>
    public required Workload Workload { get; init; }
    /// <summary>Policy name.</summary>
    public required string Policy { get; init; }
    /// <summary>Offered load (fraction of capacity); +∞ saturates.</summary>
    public required double Load { get; init; }
    /// <summary>Time slice for ps.</summary>
    public double QuantumUs { get; init; } = 5;
    /// <summary>IOKernel core.</summary>
    public int IOKernelCore { get; init; }
    /// <summary>Worker cores.</summary>
    public int[] WorkerCores { get; init; } = [1];
    /// <summary>JBSQ's k.</summary>
    public int MailboxDepth { get; init; } = 2;
    /// <summary>The central queue's bound (<see cref="KernelOptions.QueueCapacity"/>); a saturation point keeps it full.</summary>
    public int QueueCapacity { get; init; } = new KernelOptions().QueueCapacity;
    /// <summary>Whether workers end their own slices past the quantum (<see cref="KernelOptions.WorkerQuantumCheck"/>).</summary>
    public bool WorkerQuantumCheck { get; init; } = true;
    /// <summary>Whether such a worker keeps the request it yielded (<see cref="KernelOptions.WorkerHoldsYielded"/>).</summary>
    public bool WorkerHoldsYielded { get; init; }
    /// <summary>Seconds of arrivals, warm-up included.</summary>
    public double DurationS { get; init; } = 2;
    /// <summary>Leading share not recorded.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>Carrier back-off.</summary>
    public IdleStrategyKind CarrierIdle { get; init; } = IdleStrategyKind.Spin;
    /// <summary>IOKernel back-off.</summary>
    public IdleStrategyKind IOKernelIdle { get; init; } = IdleStrategyKind.Spin;
    /// <summary>Arrival and service-time seed.</summary>
    public ulong Seed { get; init; } = 42;
    /// <summary>Per-request events to keep (0: none).</summary>
    public int TraceCapacity { get; init; }
    /// <summary>The handler; the spin app when null.</summary>
    public IRequestHandler? Handler { get; init; }
    /// <summary>Report the kernel to these metrics while it runs (carriers then also count latency
    /// buckets); null: no metrics, the data path as without them.</summary>
    public NetStackMetrics? Metrics { get; init; }
    /// <summary>Gaps in a pinned thread's clock reads longer than this are stalls, µs.</summary>
    public double StallThresholdMicros { get; init; } = StallLog.DefaultThresholdMicros;
}

/// <summary>The outcome of a point: its report row, and the stopped kernel for anything else.</summary>
internal sealed record SchedPointResult(PointReport Report, IOKernel.Kernel Kernel, long OriginTicks);

/// <summary>Runs NetStack in this process over the synthetic NIC and measures one point.</summary>
internal static class InProcessRun
{
    /// <summary>Runs the point to its end (arrivals stop after the duration; in-flight requests drain).</summary>
    public static SchedPointResult Run(SchedPoint p)
    {
        Workload workload = p.Workload;
        int workers = p.WorkerCores.Length;
        bool saturate = double.IsPositiveInfinity(p.Load);
        double rate = saturate ? double.PositiveInfinity : workload.RateFor(p.Load, workers);
        var options = new KernelOptions
        {
            IOKernelCore = p.IOKernelCore,
            WorkerCores = p.WorkerCores,
            Policy = p.Policy,
            QuantumMicros = p.QuantumUs,
            MailboxDepth = p.MailboxDepth,
            QueueCapacity = p.QueueCapacity,
            WorkerQuantumCheck = p.WorkerQuantumCheck,
            WorkerHoldsYielded = p.WorkerHoldsYielded,
            CarrierIdle = p.CarrierIdle,
            IOKernelIdle = p.IOKernelIdle,
            // In-process runs have the machine to themselves: idle threads spin a while before yielding.
            IdleSpinMicros = 100,
            TraceCapacity = p.TraceCapacity,
            StallThresholdMicros = p.StallThresholdMicros,
        };

        // Arrivals start a little after now, once every thread has pinned itself.
        long start = Clock.Now() + Clock.FromMicros(20_000);
        long duration = Clock.FromMicros(p.DurationS * 1e6);
        long measureFrom = start + (long)(duration * p.WarmupFraction);
        long measureUntil = start + duration;
        var nic = new SyntheticNic(workload, rate, start, duration, p.Seed);
        // Each carrier's recorder keeps its requests' stamps for the stall attribution, sized from the
        // expected count; the kernel makes the carriers' recorders first, then its own (detached
        // completions only, rare): that one gets a small log.
        int logCapacity = RequestLog.CapacityFor(rate * p.DurationS, workers);
        int made = 0;
        Func<CompletionRecorder> recorders = () => new LatencyRecorder(workload.Types.Count, measureFrom, measureUntil,
            made++ < workers ? logCapacity : Math.Min(logCapacity, DetachedLogCapacity));
        var kernel = new IOKernel.Kernel(options, nic, p.Handler ?? new Apps.Spin.SpinApp(),
            p.Metrics is null ? recorders : LatencyBucketRecorder.Factory(1, recorders))
        {
            StopWhenExhausted = true,
            MeasureAllocationsFrom = measureFrom,
            MeasureUntil = measureUntil,
        };
        using IDisposable? registration = p.Metrics?.Register(kernel);

        kernel.Start();
        Reports.ReportFiles.SleepUntil(measureFrom);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long[] stealBefore = StealTime.Read();
        Reports.ReportFiles.SleepUntil(measureUntil);
        long allocatedAfter = GC.GetTotalAllocatedBytes(precise: true);
        List<double>? stealMs = StealTime.Between(stealBefore, StealTime.Read());
        if (!kernel.Wait(TimeSpan.FromSeconds(30)))
        {
            kernel.RequestStop();
            kernel.Wait(Timeout.InfiniteTimeSpan);
        }

        List<LatencyRecorder> latency = kernel.Recorders
            .Select(r => (LatencyRecorder)(r is LatencyBucketRecorder buckets ? buckets.Inner! : r))
            .ToList();
        var merged = new LatencyRecorder(workload.Types.Count);
        foreach (LatencyRecorder r in latency)
        {
            merged.Merge(r);
        }
        List<string> typeNames = workload.Types.Select(t => t.Name).ToList();
        (ClassReport all, List<ClassReport> types) = merged.ToClasses(typeNames);
        double windowS = Clock.ToMicros(measureUntil - measureFrom) / 1e6;
        // Throughput and bytes per request count what the window completed; its arrivals' drain is not its work.
        long done = merged.CompletedInWindow;
        KernelCounters c = kernel.Counters;
        var report = new PointReport
        {
            System = "netstack",
            Policy = kernel.Policy.Name,
            QuantumUs = kernel.Policy.QuantumTicks > 0 ? p.QuantumUs : 0,
            Workers = workers,
            MailboxDepth = p.MailboxDepth,
            OfferedLoad = saturate ? double.NaN : p.Load,
            OfferedRps = rate,
            AchievedRps = done / windowS,
            Completed = c.Completed,
            Dropped = c.Rejected,
            Errors = c.Errors,
            Unfinished = c.Unfinished,
            Preemptions = c.Requeues,
            AllocatedBytesPerRequest = done == 0 ? 0 : (double)(allocatedAfter - allocatedBefore) / done,
            DataPathAllocatedBytesPerRequest = done == 0 ? 0 : (double)kernel.DataPathAllocatedBytes / done,
            DataPathPoolGrowthBytesPerRequest = done == 0 ? 0 : (double)kernel.DataPathPoolGrowthBytes / done,
            PreemptionLatencyNs = merged.PreemptionLatency.TotalCount == 0 ? null : Summary.From(merged.PreemptionLatency, 1.0),
            All = all,
            Types = types,
            WorkerBusyFraction = kernel.Carriers.Sum(k => (double)k.BusyTicksInWindow) / (workers * (double)(measureUntil - measureFrom)),
            StealMsPerCore = stealMs,
        };
        StallAccounting stalls = Stalls(kernel, p.IOKernelCore, workload.Types.Count);
        stalls.AddRound(latency, kernel.Stalls.Snapshot(), kernel.Stalls.Overflowed, measureFrom, measureUntil);
        stalls.WriteTo(report, typeNames);
        return new SchedPointResult(report, kernel, start);
    }

    /// <summary>Requests the IOKernel's own recorder keeps (detached completions: handlers that
    /// awaited something other than a checkpoint; the spin app has none).</summary>
    private const int DetachedLogCapacity = 4096;

    /// <summary>An accounting of an in-process kernel's stalls, its watched cores declared: the
    /// IOKernel's and each carrier's (the spin handler's clock reads land on its carrier's core).</summary>
    public static StallAccounting Stalls(IOKernel.Kernel kernel, int ioKernelCore, int types)
    {
        var stalls = new StallAccounting(types, kernel.Stalls.ThresholdMicros, StallAccounting.SeenInProcess);
        stalls.Watched(ioKernelCore, "iokernel");
        foreach (Carrier carrier in kernel.Carriers)
        {
            stalls.Watched(carrier.Worker.Core, "carrier");
        }
        return stalls;
    }
}

/// <summary>
/// The metrics pipeline of an in-process run (<c>sched --metrics console|prometheus</c>): the
/// NetStack Meter with one exporter, so the dispatcher ceiling can be measured with and without it.
/// </summary>
internal sealed class InProcessMetrics : IDisposable
{
    /// <summary>The --metrics values.</summary>
    public static readonly string[] Modes = ["none", "console", "prometheus"];

    // Console exports every second, so a 2 s point is collected (and its cost paid) at least once.
    private const int ConsoleIntervalMillis = 1000;

    private readonly OpenTelemetry.Metrics.MeterProvider? _provider;

    private InProcessMetrics(NetStackMetrics metrics, OpenTelemetry.Metrics.MeterProvider? provider, string description)
    {
        Metrics = metrics;
        _provider = provider;
        Description = description;
    }

    /// <summary>What points register their kernels with.</summary>
    public NetStackMetrics Metrics { get; }

    /// <summary>One line for the report's notes: which exporter, and where.</summary>
    public string Description { get; }

    /// <summary>Starts the exporter for <paramref name="mode"/>, or returns null for "none".</summary>
    /// <param name="mode">none, console or prometheus.</param>
    /// <param name="prometheusPort">The scrape endpoint's port on 127.0.0.1.</param>
    public static InProcessMetrics? Start(string mode, int prometheusPort = 9464)
    {
        if (mode == "none")
        {
            return null;
        }
        var options = new TelemetryOptions { Exporters = [mode], PrometheusPort = prometheusPort, ExportIntervalMillis = ConsoleIntervalMillis };
        var metrics = new NetStackMetrics();
        try
        {
            OpenTelemetry.Metrics.MeterProvider? provider = TelemetryExporters.BuildMeterProvider(options);
            string where = mode == "prometheus" ? $"scrape {TelemetryExporters.PrometheusUrl(options)}" : $"exported every {ConsoleIntervalMillis} ms";
            return new InProcessMetrics(metrics, provider, $"metrics: {mode} exporter attached, {where}; carriers count latency buckets");
        }
        catch
        {
            metrics.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The provider first: its final export still reads the Meter.
        _provider?.Dispose();
        Metrics.Dispose();
    }
}
