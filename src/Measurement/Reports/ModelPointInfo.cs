// The queueing model's part of a point: the overheads it was given, and what its dispatcher did.
namespace NetStack.Measurement.Reports;

/// <summary>What a model point (System = "model") simulated beyond the common fields.</summary>
public sealed class ModelPointInfo
{
    /// <summary>Dispatcher time per dispatch, ns: its ceiling is 1e9 / this requests/s.</summary>
    public double DispatchNs { get; set; }
    /// <summary>Worker time lost per preemption, ns.</summary>
    public double PreemptNs { get; set; }
    /// <summary>Where the two costs came from: "given", or what NetStack measured in this run.</summary>
    public string CostSource { get; set; } = "given";
    /// <summary>Requests the queue admits (d-FCFS: split among the workers).</summary>
    public int QueueCapacity { get; set; }
    /// <summary>Simulated seconds of arrivals (warm-up included).</summary>
    public double SimulatedS { get; set; }
    /// <summary>Requests simulated (warm-up included).</summary>
    public long Arrivals { get; set; }
    /// <summary>Dispatches (first dispatches and resumptions).</summary>
    public long Dispatches { get; set; }
    /// <summary>Share of the simulated time the dispatcher was busy: near 1, it is the bottleneck.</summary>
    public double DispatcherBusyFraction { get; set; }
}
