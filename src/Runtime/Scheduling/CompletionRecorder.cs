// The hook through which a carrier reports finished requests to whoever measures them.
namespace NetStack.Runtime.Scheduling;

/// <summary>
/// Receives a carrier's measurements, on that carrier's thread: one instance per carrier, so an
/// implementation needs no synchronization while the run lasts and is read after it stops.
/// </summary>
internal abstract class CompletionRecorder
{
    /// <summary>A request completed (ok or error): its stamps, copied before its reply was pushed,
    /// so recording never delays an answer.</summary>
    public abstract void RecordCompletion(in CompletionStamps request);

    /// <summary>Records <paramref name="request"/>, whose stamps are final and which nobody else holds yet.</summary>
    public void RecordCompletion(GreenThread request) => RecordCompletion(CompletionStamps.Of(request));

    /// <summary>From the IOKernel's write of the preemption word to the next green thread starting
    /// on this worker, in ticks.</summary>
    public abstract void RecordPreemptionLatency(long ticks);
}

/// <summary>What a recorder keeps of a completed request: a copy, taken while the carrier still owned it.</summary>
internal readonly struct CompletionStamps
{
    /// <summary>Request type.</summary>
    public int Type { get; init; }
    /// <summary>The app it belonged to.</summary>
    public int AppId { get; init; }
    /// <summary>Arrival stamp (ticks).</summary>
    public long ArrivalTicks { get; init; }
    /// <summary>Completion stamp (ticks).</summary>
    public long CompletionTicks { get; init; }
    /// <summary>Requested service time (ns), 0 when the workload has none.</summary>
    public long ServiceNs { get; init; }
    /// <summary>Times it was preempted.</summary>
    public int Preemptions { get; init; }
    /// <summary>It ended in an error.</summary>
    public bool Error { get; init; }

    /// <summary>The stamps of <paramref name="r"/>.</summary>
    public static CompletionStamps Of(GreenThread r) => new()
    {
        Type = r.Type,
        AppId = r.AppId,
        ArrivalTicks = r.ArrivalTicks,
        CompletionTicks = r.CompletionTicks,
        ServiceNs = r.ServiceNs,
        Preemptions = r.Preemptions,
        Error = r.Status == RequestStatus.Error,
    };
}
