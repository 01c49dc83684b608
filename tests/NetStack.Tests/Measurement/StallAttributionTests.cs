// Stall attribution on a fake clock: which requests a stall could have delayed, and what the untouched figures keep.
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime;
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Measurement;

public class StallAttributionTests
{
    /// <summary>Ticks at <paramref name="us"/> µs after an arbitrary origin (a real clock never reads 0).</summary>
    private static long T(double us) => Clock.FromMicros(1_000_000 + us);

    private static RequestRecord R(double arrivalUs, double completionUs, int type = 0, int serviceNs = 1_000) =>
        new(T(arrivalUs), T(completionUs), serviceNs, type);

    /// <summary>A thread's watch fed synthetic clock reads: every read is 1 µs after the last, except the gaps.</summary>
    private static void Run(StallWatch watch, params (double FromUs, double ToUs)[] gaps)
    {
        double at = gaps.Length == 0 ? 0 : gaps[0].FromUs - 5;
        watch.Restart(T(at));
        foreach ((double from, double to) in gaps)
        {
            for (; at < from; at += 1)
            {
                watch.Observe(T(at));
            }
            watch.Observe(T(from));
            watch.Observe(T(to)); // the gap: the thread was not running from `from` to `to`
            at = to + 1;
        }
    }

    private static (AttributionCounts Counts, bool[] Touched) Attribute(StallLog log, params RequestRecord[] requests)
    {
        var touched = new bool[requests.Length];
        Stall[] stalls = [.. log.Snapshot()];
        return (StallAttribution.Attribute(requests, stalls, touched), touched);
    }

    [Fact]
    public void RequestsInABusyPeriodAStallTouchesAreLeftOutAndTheOthersKept()
    {
        var log = new StallLog(thresholdMicros: 20);
        Run(log.Watch(1, StallSource.Carrier), (20, 120), (500, 600));
        Run(log.Watch(0, StallSource.IOKernel), (710, 800)); // another core's stall counts as much
        Run(log.Watch(1, StallSource.Carrier), (900, 915)); // under the threshold: not a stall
        Assert.Equal(3, log.Snapshot().Count);

        (AttributionCounts counts, bool[] touched) = Attribute(log,
            R(0, 25), R(10, 130),    // one busy period, overlapped by the stall at 20–120: both left out
            R(300, 310),             // alone, no stall: kept
            R(400, 420), R(415, 430), // a busy period no stall met: kept
            R(550, 610),             // arrived during the stall at 500–600 while the server was idle: touched
            R(700, 710),             // completed exactly as the stall at 710 began: it delayed nothing
            R(800, 810),             // arrived exactly as that stall ended: nothing either
            R(905, 912));            // a 15 µs gap is below the threshold

        Assert.Equal([true, true, false, false, false, true, false, false, false], touched);
        Assert.Equal(new AttributionCounts(BusyPeriods: 7, TouchedBusyPeriods: 2, TouchedRequests: 3), counts);
    }

    [Fact]
    public void AStallLeavesOutTheWholeBusyPeriodEvenRequestsThatCompletedBeforeIt()
    {
        var log = new StallLog(thresholdMicros: 20);
        Run(log.Watch(1, StallSource.Handler), (25, 60));
        // A chain of overlapping requests is one busy period: the first completed before the stall,
        // but the ones behind it waited for the machine too, and they shared one queue.
        (AttributionCounts counts, bool[] touched) = Attribute(log, R(19, 30), R(0, 10), R(9, 20), R(70, 75));
        Assert.Equal([true, true, true, false], touched);
        Assert.Equal(2, counts.BusyPeriods);
    }

    [Fact]
    public void NoStallNoRequestOrEitherAloneLeavesNothingOut()
    {
        var none = new StallLog();
        (AttributionCounts counts, bool[] touched) = Attribute(none, R(0, 10), R(5, 15));
        Assert.Equal([false, false], touched);
        Assert.Equal(new AttributionCounts(1, 0, 0), counts);

        var log = new StallLog(thresholdMicros: 20);
        Run(log.Watch(0, StallSource.IOKernel), (0, 100));
        Assert.Equal(new AttributionCounts(0, 0, 0), Attribute(log).Counts);
    }

    [Fact]
    public void TheAccountingKeepsTheUntouchedRequestsOfTheWindowAndSummarizesEachCoresStalls()
    {
        var log = new StallLog(thresholdMicros: 20);
        Run(log.Watch(1, StallSource.Carrier), (95, 118), (300, 340));
        Run(log.Watch(1, StallSource.Handler), (310, 360)); // the same core's pause, seen twice: its time counts once
        var recorder = new LatencyRecorder(2, T(100), T(1_000), logCapacity: 100);
        void Complete(double arrivalUs, double completionUs, int type) =>
            recorder.RecordRequest(type, T(arrivalUs), T(completionUs), 1_000, 0, false);
        Complete(90, 150, 0);   // warm-up: not counted, but its busy period carries the stall at 95–118 ...
        Complete(120, 160, 1);  // ... to this window request, which waited behind it: left out
        Complete(200, 210, 0);  // kept: 10 µs
        Complete(220, 250, 0);  // kept: 30 µs
        Complete(330, 335, 1);  // inside the stall at 300–340: left out
        Complete(500, 520, 1);  // kept: 20 µs

        var accounting = new StallAccounting(2, 20, StallAccounting.SeenInProcess);
        accounting.Watched(0, "iokernel");
        accounting.Watched(1, "carrier");
        accounting.AddRound([recorder], log.Snapshot(), log.Overflowed, T(100), T(1_000));
        var point = new PointReport { All = new ClassReport { Name = "all" }, Types = [new ClassReport { Name = "a" }, new ClassReport { Name = "b" }] };
        accounting.WriteTo(point, ["a", "b"]);

        UntouchedClass all = point.All.Untouched!;
        Assert.Equal((3L, 2L), (all.Count, all.LeftOut));
        Assert.Equal(30, all.LatencyUs.Max, 1);
        Assert.Equal((2L, 0L), (point.Types[0].Untouched!.Count, point.Types[0].Untouched!.LeftOut));
        Assert.Equal((1L, 2L), (point.Types[1].Untouched!.Count, point.Types[1].Untouched!.LeftOut));
        Assert.Equal(20, point.Types[1].Untouched!.Slowdown.P50, 1); // 20 µs for a 1 µs request

        StallReport stalls = point.Stalls!;
        Assert.Equal((5L, 2L, 0.4), (stalls.Requests, stalls.LeftOut, stalls.ShareLeftOut));
        Assert.Equal(20, stalls.ThresholdUs);
        CoreStalls idle = stalls.Cores.Single(c => c.Core == 0);
        Assert.Equal(("iokernel", 0L), (idle.Threads, idle.Count));
        // Core 1: the stall at 95–118 began before the window; 300–340 and 310–360 overlap: 60 µs in all.
        CoreStalls worker = stalls.Cores.Single(c => c.Core == 1);
        Assert.Equal(2, worker.Count);
        Assert.Equal(60, worker.TotalUs, 1);
        Assert.Equal(50, worker.LongestUs, 1);
        Assert.Equal(60.0 / 900, worker.ShareOfWindow, 3);
    }

    [Fact]
    public void WithoutARequestLogThereAreNoUntouchedFiguresButTheStallsAreStillReported()
    {
        var log = new StallLog(thresholdMicros: 20);
        Run(log.Watch(3, StallSource.Generator), (100, 400));
        var accounting = new StallAccounting(1, 20, StallAccounting.SeenByGenerator);
        accounting.AddRound([new LatencyRecorder(1)], log.Snapshot(), 0, T(0), T(1_000));
        var point = new PointReport();
        accounting.WriteTo(point, ["all"]);

        Assert.Null(point.All.Untouched);
        Assert.Equal(300, point.Stalls!.Cores.Single(c => c.Core == 3).LongestUs, 1);
        Assert.Contains("not seen", point.Stalls.SeenBy);
    }
}
