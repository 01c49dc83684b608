// The open-loop generator's tunables: when a point counts as measuring the generator, how long answers are awaited, how senders wait.
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// Limits that decide what a udp point's numbers mean. Every value is reachable from the command
/// line (<c>--behind-p99-us</c>, <c>--max-grace-s</c>, <c>--spin-below-us</c>); docs/loadgen.md explains each.
/// </summary>
internal sealed record GeneratorLimits
{
    /// <summary>
    /// A point is flagged generator-fell-behind when the p99 of send lateness over the measured
    /// window exceeds this. 20 µs: a few loopback round trips; a spinning sender on its own core
    /// stays far below it, so crossing it means the sender was starved or saturated.
    /// </summary>
    public double BehindP99Micros { get; init; } = 20;

    /// <summary>
    /// ... or when fewer than this share of the measured window's scheduled requests were sent
    /// before the point ended (the sender stops at the end rather than run on and overlap the next point).
    /// </summary>
    public double MinSentFraction { get; init; } = 0.95;

    /// <summary>Answers are awaited at least this long after the last send (200 ms: ~10^4 loopback round trips).</summary>
    public double MinGraceMillis { get; init; } = 200;

    /// <summary>... and at least this many times the largest per-type p99.9 latency seen so far, so slow servers are waited for ...</summary>
    public double GraceTimesP999 { get; init; } = 10;

    /// <summary>... but never longer than this, so every point ends; an answer later than that is lost.</summary>
    public double MaxGraceSeconds { get; init; } = 2;

    /// <summary>A sender further than this from its next send yields its core (sched_yield) instead of spinning,
    /// so a receiver or server sharing the core can run; closer than this it spins, to send on time.
    /// 0 by default: a yield with nothing else runnable returns in well under a microsecond, while a
    /// sender that spins starves any polling thread sharing its core (an IOKernel): with 30 µs,
    /// NetStack over UDP rejected a third of its requests at 0.6 load; with 0, none, and the
    /// generator's lateness p99 stayed under 20 µs (docs/results.md).</summary>
    public double SpinBelowMicros { get; init; }

    /// <summary>A sender offers its core (sched_yield) at least this often, even when it is behind and
    /// sends without waiting, or its polls keep finding answers, so a server's IOKernel sharing its
    /// core does not wait for the OS's next tick (4 ms on the reference VM). 0, the default: only the
    /// waits yield (side by side, 50 µs did not lower kv's tail on the reference VM; docs/results.md).</summary>
    public double BusyYieldMicros { get; init; }

    /// <summary>A sender further than this from its next send sleeps 1 ms (low rates, idle cores).</summary>
    public double SleepAboveMicros { get; init; } = 3000;

    /// <summary>With an inline receiver, the sender reads answers only when its next send is further than this
    /// (a read costs ~1-2 µs, so one started closer would make the send late).</summary>
    public double InlinePollAboveMicros { get; init; } = 5;

    /// <summary>Empty polls before an idle receiver starts yielding its core between polls.</summary>
    public int ReceiverSpinPolls { get; init; } = 64;

    /// <summary>Whether a point's generator could not keep its schedule, by the definition above.</summary>
    /// <param name="lateness">Send lateness over the measured window, µs.</param>
    /// <param name="scheduledInWindow">Requests the schedule held in the measured window.</param>
    /// <param name="sentInWindow">Of those, the ones sent.</param>
    public bool FellBehind(Summary lateness, long scheduledInWindow, long sentInWindow) =>
        lateness.P99 > BehindP99Micros || sentInWindow < MinSentFraction * scheduledInWindow;
}
