// The model's results as report points: System = "model", in the schema every verb writes.
using NetStack.Measurement.Model;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Model;

/// <summary>Turns a simulated point into a <see cref="PointReport"/> beside the measured ones.</summary>
internal static class ModelPoints
{
    /// <summary>The report's system name for model points.</summary>
    public const string System = "model";

    /// <summary>Simulates <paramref name="config"/> and reports it.</summary>
    /// <param name="config">The point.</param>
    /// <param name="costSource">Where its dispatch and preemption costs came from ("given", or what was measured).</param>
    public static (PointReport Point, ModelResult Result) Simulate(ModelConfig config, string costSource)
    {
        ModelResult r = QueueingSimulator.Run(config);
        return (ToPoint(r, costSource), r);
    }

    /// <summary>The report row of a simulated point.</summary>
    public static PointReport ToPoint(ModelResult r, string costSource)
    {
        ModelConfig c = r.Config;
        return new PointReport
        {
            System = System,
            Policy = c.Policy.Name(),
            QuantumUs = c.Policy == ModelPolicy.ProcessorSharing ? c.QuantumNs / 1000 : 0,
            Workers = c.Workers,
            MailboxDepth = c.MailboxDepth,
            OfferedLoad = c.Load,
            OfferedRps = c.RatePerSecond,
            AchievedRps = r.AchievedRps,
            Completed = r.Completed,
            Dropped = r.Dropped,
            Preemptions = r.Preemptions,
            All = ToClass(r.All),
            Types = r.Types.Select(ToClass).ToList(),
            WorkerBusyFraction = r.WorkerBusyFraction,
            Model = new ModelPointInfo
            {
                DispatchNs = c.DispatchNs,
                PreemptNs = c.PreemptNs,
                CostSource = costSource,
                QueueCapacity = c.QueueCapacity,
                SimulatedS = c.DurationNs / 1e9,
                Arrivals = r.Arrivals,
                Dispatches = r.Dispatches,
                DispatcherBusyFraction = r.DispatcherBusyFraction,
            },
        };
    }

    private static ClassReport ToClass(ModelClass c) => new()
    {
        Name = c.Name,
        Count = c.Count,
        LatencyUs = ToSummary(c.Latency, 1000),
        Slowdown = ToSummary(c.Slowdown, 1),
        Preemptions = c.Preemptions,
    };

    private static Summary ToSummary(Distribution d, double scale) => new()
    {
        Count = d.Count,
        P50 = d.P50 / scale,
        P90 = d.P90 / scale,
        P99 = d.P99 / scale,
        P999 = d.P999 / scale,
        Max = d.Max / scale,
        Mean = d.Mean / scale,
    };
}
