// The batch app API: a cooperative run loop that gives its core back when the IOKernel asks.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Scheduling;

/// <summary>
/// A best-effort (batch) app: it uses whatever worker cores no latency-critical app needs. The
/// carrier calls <see cref="Run"/> when its core is granted to the batch app; the job works in
/// small units and returns as soon as <see cref="BatchContext.ShouldYield"/> turns true (the
/// IOKernel moved the core to another app, or the host is stopping). Check it at least every few
/// microseconds: that is how long a latency-critical request may wait for the core.
/// </summary>
public interface IBatchJob
{
    /// <summary>The job's name in reports.</summary>
    string Name { get; }

    /// <summary>What one unit of work is, for throughput reports (for example "KiB hashed").</summary>
    string UnitName { get; }

    /// <summary>Works until told to yield. May run on several carriers at once, one context each.</summary>
    void Run(BatchContext context);
}

/// <summary>
/// One carrier's view of the batch app: the yield signal and a progress counter. The signal is
/// the worker's assignment word (written by the IOKernel, on its own cache line): any change of
/// owner means the batch slice must end.
/// </summary>
public sealed class BatchContext
{
    private readonly Worker _worker;
    private long _epoch;
    private long _units;

    internal BatchContext(Worker worker) => _worker = worker;

    /// <summary>The worker's index: a job may keep per-worker state with it.</summary>
    public int WorkerIndex => _worker.Index;

    /// <summary>True when the core is wanted elsewhere: return from <see cref="IBatchJob.Run"/>.</summary>
    public bool ShouldYield
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _worker.AssignmentEpoch != _epoch;
    }

    /// <summary>Units done on this worker so far (readable from any thread).</summary>
    public long Units => Volatile.Read(ref _units);

    /// <summary>Counts finished units; cheap enough to call once per unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Completed(long units) =>
        // Release: a monitoring thread reads the counter while the carrier writes it.
        Volatile.Write(ref _units, _units + units);

    internal void Begin(long epoch) => _epoch = epoch;
}
