// `sched --model`: the queueing model beside the measured points, fed the run's workload, seed and measured overheads.
using System.CommandLine;
using System.Globalization;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Sched;
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Model;

/// <summary>The overheads the model is to use: each given on the command line, or null to measure it.</summary>
/// <param name="DispatchNs">--dispatch-ns, or null: 1 / the dispatcher ceiling, probed after the run.</param>
/// <param name="PreemptNs">--preempt-ns, or null: the median of the ps points' measured p50 preemption cost.</param>
internal sealed record ModelCosts(double? DispatchNs, double? PreemptNs);

/// <summary>sched's model options: <c>--model</c>, and the costs it may be given instead of measuring them.</summary>
internal sealed class SchedModelOptions
{
    /// <summary><c>--model</c>.</summary>
    public Option<bool> Model { get; } = CliOption.Flag("model",
        "put the queueing model's point beside every measured one (same workload, seed, loads, workers and JBSQ(k); docs/model.md)");

    /// <summary><c>--dispatch-ns N</c>.</summary>
    public Option<double?> DispatchNs { get; } = CliOption.OptionalNumber("dispatch-ns", 0, 1e9,
        "with --model: the model's cost per dispatch, ns [default: 1 / the dispatcher's ceiling, measured after the run]");

    /// <summary><c>--preempt-ns N</c>.</summary>
    public Option<double?> PreemptNs { get; } = CliOption.OptionalNumber("preempt-ns", 0, 1e9,
        "with --model: the model's cost per preemption, ns [default: the median of the ps points' measured p50]");

    /// <summary>The three, for a command.</summary>
    public IEnumerable<Option> All => [Model, DispatchNs, PreemptNs];

    /// <summary>The costs asked for, or null when --model was not given (a cost without --model is a usage error).</summary>
    public ModelCosts? Read(ParseResult result)
    {
        double? dispatch = result.GetValue(DispatchNs);
        double? preempt = result.GetValue(PreemptNs);
        if (!result.GetValue(Model))
        {
            if (dispatch is not null || preempt is not null)
            {
                throw new UsageException("sched: --dispatch-ns and --preempt-ns are the model's; add --model");
            }
            return null;
        }
        return new ModelCosts(dispatch, preempt);
    }
}

/// <summary>Adds a model point beside every measured point of a sched run.</summary>
internal static class SchedModel
{
    // Five probes of 0.1 s, the fastest kept: a stall of the VM or another process on the cores only
    // slows a probe down, so the fastest is nearest the quiet machine's ceiling. Each is long enough
    // for hundreds of thousands of zero-service dispatches; together short beside the run they follow.
    private const int CeilingProbes = 5;
    private const double CeilingProbeSeconds = 0.1;

    /// <summary>
    /// Simulates every measured point of <paramref name="report"/> (saturation points have no load
    /// to simulate) with the run's workload, seed, duration, warm-up, worker count, mailbox depth
    /// and queue bound, and appends the model's points. Costs not given are measured: the dispatch
    /// cost as one over the dispatcher's ceiling (a short zero-service saturation point on the same
    /// cores, run now), the preemption cost as the median of the ps points' p50.
    /// </summary>
    /// <param name="report">The run, its measured points complete.</param>
    /// <param name="workload">Its workload.</param>
    /// <param name="costs">The overheads given, or null ones to measure.</param>
    /// <param name="template">The run's settings as a point (cores, depth, duration, warm-up, seed, quantum, idle);
    /// its policy and load are not used.</param>
    public static void AddPoints(RunReport report, Workload workload, ModelCosts costs, SchedPoint template)
    {
        List<PointReport> measured = report.Points.Where(p => p.System == "netstack" && !double.IsNaN(p.OfferedLoad)).ToList();
        if (measured.Count == 0)
        {
            report.Config.Notes.Add("model: no point with an offered load to simulate (saturation points have none)");
            return;
        }
        (double dispatchNs, string dispatchFrom) = costs.DispatchNs is { } d ? (d, "given") : ProbeDispatchNs(template);
        (double preemptNs, string preemptFrom) = costs.PreemptNs is { } p ? (p, "given") : MeasuredPreemptNs(measured);
        string source = $"dispatch {dispatchFrom}; preemption {preemptFrom}";
        report.Config.Notes.Add(Inv($"model: the queueing model beside each point (System = model), same workload, seed, duration, warm-up, workers and JBSQ(k); dispatch {dispatchNs:0.#} ns ({dispatchFrom}), preemption {preemptNs:0.#} ns ({preemptFrom})"));

        foreach (PointReport m in measured)
        {
            var config = new ModelConfig
            {
                Workload = workload,
                Policy = ModelPolicies.Parse(m.Policy),
                Workers = m.Workers,
                Load = m.OfferedLoad,
                DurationNs = template.DurationS * 1e9,
                WarmupFraction = template.WarmupFraction,
                Seed = template.Seed,
                QuantumNs = template.QuantumUs * 1000,
                DispatchNs = dispatchNs,
                PreemptNs = preemptNs,
                MailboxDepth = m.MailboxDepth,
                QueueCapacity = template.QueueCapacity,
            };
            report.Points.Add(ModelPoints.Simulate(config, source).Point);
        }
    }

    private static (double Ns, string From) ProbeDispatchNs(SchedPoint template)
    {
        Workload.TryGet("zero", out Workload? zero);
        double rps = Enumerable.Range(0, CeilingProbes).Max(_ => InProcessRun.Run(template with
        {
            Workload = zero!,
            Policy = "cfcfs",
            Load = double.PositiveInfinity,
            DurationS = CeilingProbeSeconds,
            TraceCapacity = 0,
            Metrics = null,
        }).Report.AchievedRps);
        return rps > 0
            ? (1e9 / rps, Inv($"1 / the dispatcher ceiling measured after the run (the fastest of {CeilingProbes} probes of {CeilingProbeSeconds} s), {rps / 1e6:0.##} M/s at JBSQ({template.MailboxDepth})"))
            : (0, "the ceiling probes completed nothing; 0 used");
    }

    private static (double Ns, string From) MeasuredPreemptNs(List<PointReport> measured)
    {
        List<double> p50s = measured.Where(p => p.PreemptionLatencyNs is { Count: > 0 }).Select(p => p.PreemptionLatencyNs!.P50).Order().ToList();
        if (p50s.Count == 0)
        {
            return (0, "none measured (no preemptions); 0 used");
        }
        double median = p50s.Count % 2 == 1 ? p50s[p50s.Count / 2] : (p50s[p50s.Count / 2 - 1] + p50s[p50s.Count / 2]) / 2;
        return (median, Inv($"median of the ps points' measured p50 ({p50s.Count} points)"));
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
