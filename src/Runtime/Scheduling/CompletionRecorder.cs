// The hook through which a carrier reports finished requests to whoever measures them.
namespace NetStack.Runtime.Scheduling;

/// <summary>
/// Receives a carrier's measurements, on that carrier's thread: one instance per carrier, so an
/// implementation needs no synchronization while the run lasts and is read after it stops.
/// </summary>
public abstract class CompletionRecorder
{
    /// <summary>A request completed (ok or error); its stamps are final.</summary>
    public abstract void RecordCompletion(GreenThread request);

    /// <summary>From the IOKernel's write of the preemption word to the next green thread starting
    /// on this worker, in ticks.</summary>
    public abstract void RecordPreemptionLatency(long ticks);
}
