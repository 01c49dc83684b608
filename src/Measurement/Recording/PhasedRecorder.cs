// Records LC completions into one latency recorder per phase name, by each request's arrival time.
using NetStack.Runtime.Scheduling;

namespace NetStack.Measurement.Recording;

/// <summary>
/// A carrier's recorder for a colocated run: each request goes to the recorder of the phase its
/// arrival fell in (phases of the same name share one), and to the whole-run recorder; arrivals
/// before <c>measureFrom</c> (warm-up) are left out.
/// </summary>
internal sealed class PhasedRecorder : CompletionRecorder
{
    private readonly long[] _phaseStarts;
    private readonly int[] _phaseSlot;
    private readonly long _measureFrom;

    /// <param name="types">Request types.</param>
    /// <param name="phaseStarts">Start tick of each phase, ascending.</param>
    /// <param name="phaseSlot">Which named recorder each phase feeds.</param>
    /// <param name="slots">How many named recorders.</param>
    /// <param name="measureFrom">Warm-up end.</param>
    /// <param name="measureUntil">Run end.</param>
    /// <param name="logCapacity">Requests the whole-run recorder keeps with their stamps, for stall attribution (0: none).</param>
    public PhasedRecorder(int types, long[] phaseStarts, int[] phaseSlot, int slots, long measureFrom, long measureUntil, int logCapacity = 0)
    {
        _phaseStarts = phaseStarts;
        _phaseSlot = phaseSlot;
        _measureFrom = measureFrom;
        Phases = Enumerable.Range(0, slots).Select(_ => new LatencyRecorder(types)).ToArray();
        Whole = new LatencyRecorder(types, measureFrom, measureUntil, logCapacity);
    }

    /// <summary>One recorder per phase name.</summary>
    public LatencyRecorder[] Phases { get; }

    /// <summary>The whole run after warm-up.</summary>
    public LatencyRecorder Whole { get; }

    /// <inheritdoc />
    public override void RecordCompletion(in CompletionStamps ctx)
    {
        Whole.RecordCompletion(in ctx);
        if (ctx.ArrivalTicks < _measureFrom)
        {
            return;
        }
        int i = Array.BinarySearch(_phaseStarts, ctx.ArrivalTicks);
        if (i < 0)
        {
            i = ~i - 1;
        }
        if (i >= 0)
        {
            Phases[_phaseSlot[i]].RecordCompletion(in ctx);
        }
    }

    /// <inheritdoc />
    public override void RecordPreemptionLatency(long ticks) => Whole.RecordPreemptionLatency(ticks);
}
