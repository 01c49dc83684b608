// The stall part of a report point: what the pinned threads saw of the machine, and what the attribution left out.
namespace NetStack.Measurement.Reports;

/// <summary>The machine's stalls during a point, and the requests they could have delayed.</summary>
public sealed class StallReport
{
    /// <summary>Gaps in a thread's own clock reads longer than this were stalls, µs.</summary>
    public double ThresholdUs { get; set; }
    /// <summary>Which threads watched: in-process runs see the IOKernel, the carriers and a handler's
    /// clock reads; network runs only the generator's own threads (the server is another process).</summary>
    public string SeenBy { get; set; } = "";
    /// <summary>Seconds of measured window the per-core figures cover (summed over rounds).</summary>
    public double WindowS { get; set; }
    /// <summary>Per core: the stalls that began inside the measured window.</summary>
    public List<CoreStalls> Cores { get; set; } = [];
    /// <summary>Stalls seen but not kept (a thread's ring was full): the attribution did not see them.</summary>
    public long NotKept { get; set; }
    /// <summary>Requests of the measured window the attribution covered.</summary>
    public long Requests { get; set; }
    /// <summary>Of those, the ones in a busy period a stall touched: left out of the untouched figures.</summary>
    public long LeftOut { get; set; }
    /// <summary><see cref="LeftOut"/> / <see cref="Requests"/>.</summary>
    public double ShareLeftOut { get; set; }
    /// <summary>Busy periods (maximal stretches with a request in flight), warm-up included.</summary>
    public long BusyPeriods { get; set; }
    /// <summary>Of those, the ones a stall overlapped.</summary>
    public long TouchedBusyPeriods { get; set; }
    /// <summary>Requests the logs had no room for (0 unless a run far outgrew its expected count):
    /// in neither the untouched figures nor the left-out count.</summary>
    public long NotLogged { get; set; }
}

/// <summary>One core's stalls over the measured window.</summary>
public sealed class CoreStalls
{
    /// <summary>The core (-1: threads the OS placed).</summary>
    public int Core { get; set; }
    /// <summary>The watching threads on it: iokernel, carrier, sender, receiver.</summary>
    public string Threads { get; set; } = "";
    /// <summary>Stalls that began in the window.</summary>
    public long Count { get; set; }
    /// <summary>Time they covered, µs (overlapping stalls of two threads on the core counted once).</summary>
    public double TotalUs { get; set; }
    /// <summary>The longest, µs.</summary>
    public double LongestUs { get; set; }
    /// <summary><see cref="TotalUs"/> as a share of the window.</summary>
    public double ShareOfWindow { get; set; }
}

/// <summary>A class's figures over the requests no stall touched.</summary>
public sealed class UntouchedClass
{
    /// <summary>Requests kept: those whose busy period no stall overlapped.</summary>
    public long Count { get; set; }
    /// <summary>Requests left out: those in a touched busy period.</summary>
    public long LeftOut { get; set; }
    /// <summary>Latency of the kept ones, µs.</summary>
    public Summary LatencyUs { get; set; } = new();
    /// <summary>Their slowdown.</summary>
    public Summary Slowdown { get; set; } = new();
}
