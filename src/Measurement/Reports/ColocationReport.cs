// The colocate verb's part of a report: cores per app over time, grants and revokes, per-phase results.
namespace NetStack.Measurement.Reports;

/// <summary>One colocated run (LC app and batch app under one core-allocation policy).</summary>
public sealed class ColocationRun
{
    /// <summary>A label: "standing-queue", "static", "lc-alone", ...</summary>
    public string Label { get; set; } = "";
    /// <summary>The core-allocation policy (static, standing-queue, queue-delay).</summary>
    public string AllocationPolicy { get; set; } = "";
    /// <summary>The LC load pattern (steady, step, bursts).</summary>
    public string Pattern { get; set; } = "";
    /// <summary>The apps as registered.</summary>
    public List<AppInfo> Apps { get; set; } = [];
    /// <summary>Cores each app held, sampled over time.</summary>
    public List<CoreSample> Timeline { get; set; } = [];
    /// <summary>Every grant and revoke.</summary>
    public List<AllocationEvent> Events { get; set; } = [];
    /// <summary>Results per phase of the load pattern.</summary>
    public List<PhaseReport> Phases { get; set; } = [];
    /// <summary>Congestion seen (the check that first saw it) → new owner running, µs, for grants.</summary>
    public Summary GrantLatencyUs { get; set; } = new();
    /// <summary>Of those, grants of a core taken from batch.</summary>
    public Summary GrantFromBatchLatencyUs { get; set; } = new();
    /// <summary>The same grants from batch, from the allocator's decision: the move alone, without the detection.</summary>
    public Summary GrantFromBatchDecisionLatencyUs { get; set; } = new();
    /// <summary>Batch work units per second over the whole run.</summary>
    public double BatchUnitsPerSecond { get; set; }
    /// <summary>Share of all the run's core time (the IOKernel's core and the workers') spent in app
    /// work (LC or batch), over the measured window: what the machine's cores did that a user wanted.</summary>
    public double CpuEfficiency { get; set; }
    /// <summary>The same, over the worker cores only.</summary>
    public double WorkerCpuEfficiency { get; set; }
    /// <summary>Share of the core time the LC app left idle (the IOKernel's core counted) that batch work used, over the measured window.</summary>
    public double? BatchShareOfIdle { get; set; }
    /// <summary>The same, over the worker cores only (the IOKernel's core can never run batch).</summary>
    public double? BatchShareOfWorkerIdle { get; set; }
    /// <summary>Measured seconds the figures above cover (every round's window).</summary>
    public double MeasuredS { get; set; }
}

/// <summary>An app as registered with the IOKernel.</summary>
public sealed class AppInfo
{
    /// <summary>Name.</summary>
    public string Name { get; set; } = "";
    /// <summary>latency-critical or batch.</summary>
    public string Priority { get; set; } = "";
    /// <summary>Cores it always keeps.</summary>
    public int GuaranteedCores { get; set; }
    /// <summary>Cores it may have at most.</summary>
    public int MaxCores { get; set; }
}

/// <summary>How many cores an app held at one time.</summary>
public sealed class CoreSample
{
    /// <summary>µs since the run started.</summary>
    public double TimeUs { get; set; }
    /// <summary>App name.</summary>
    public string App { get; set; } = "";
    /// <summary>Cores held (averaged over the sample's time bucket).</summary>
    public double Cores { get; set; }
}

/// <summary>One grant or revoke.</summary>
public sealed class AllocationEvent
{
    /// <summary>µs since the run started.</summary>
    public double TimeUs { get; set; }
    /// <summary>The core.</summary>
    public int Core { get; set; }
    /// <summary>Previous owner ("idle" when none).</summary>
    public string From { get; set; } = "";
    /// <summary>New owner ("idle" when none).</summary>
    public string To { get; set; } = "";
    /// <summary>Why: congestion, queue-delay, guaranteed, idle-release, ...</summary>
    public string Reason { get; set; } = "";
    /// <summary>Congestion seen → new owner running, µs.</summary>
    public double LatencyUs { get; set; }
}

/// <summary>Results of one phase of the load pattern.</summary>
public sealed class PhaseReport
{
    /// <summary>Phase name (steady, low, high, burst, ...).</summary>
    public string Name { get; set; } = "";
    /// <summary>Start, s since the run started.</summary>
    public double StartS { get; set; }
    /// <summary>End, s.</summary>
    public double EndS { get; set; }
    /// <summary>LC offered load in this phase (fraction of one core).</summary>
    public double LcLoad { get; set; }
    /// <summary>LC requests of this phase.</summary>
    public ClassReport Lc { get; set; } = new();
    /// <summary>Batch units per second in this phase.</summary>
    public double BatchUnitsPerSecond { get; set; }
}
