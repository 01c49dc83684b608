// Core allocation rules, driven with hand-made snapshots and a fake clock: deterministic by construction.
using NetStack.IOKernel;
using NetStack.IOKernel.Allocation;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class CoreAllocationTests
{
    private const int Lc = 0;
    private const int Batch = 1;
    private static readonly long s_release = Clock.FromMicros(10);

    private static AppView LcApp(int cores, int queued = 0, long totalQueued = 0, long totalTaken = 0, int max = 4, int guaranteed = 0, int spinning = 0) => new()
    {
        Priority = AppPriority.LatencyCritical, Cores = cores, Queued = queued, TotalQueued = totalQueued, TotalTaken = totalTaken,
        MaxCores = max, GuaranteedCores = guaranteed, SpinningCores = spinning,
    };

    private static AppView BatchApp(int cores, int max = 4) => new() { Priority = AppPriority.Batch, Cores = cores, MaxCores = max };

    private static WorkerView[] Owned(params int[] owners) => owners.Select(o => new WorkerView { Owner = o }).ToArray();

    private static (int N, CoreMove[] Moves) Decide(CoreAllocator allocator, long now, AppView[] apps, WorkerView[] workers)
    {
        var moves = new CoreMove[8];
        int n = allocator.Decide(now, apps, workers, moves);
        return (n, moves[..n]);
    }

    [Fact]
    public void StandingQueueFiresWhenARequestQueuedAtThePreviousCheckIsStillQueued()
    {
        var policy = new StandingQueueAllocation();
        // Check 1: one request queued (tail 1, head 0). Nothing to compare with yet.
        Assert.Equal(CongestionSignal.None, policy.Check(Lc, LcApp(0, queued: 1, totalQueued: 1, totalTaken: 0), 0));
        // Check 2: it is still there (head still 0, below the previous tail 1).
        Assert.Equal(CongestionSignal.StandingQueue, policy.Check(Lc, LcApp(0, queued: 1, totalQueued: 1, totalTaken: 0), 5));
    }

    [Fact]
    public void StandingQueueDoesNotFireWhenEveryEarlierRequestLeft()
    {
        var policy = new StandingQueueAllocation();
        policy.Check(Lc, LcApp(1, queued: 2, totalQueued: 2, totalTaken: 0), 0);
        // Both earlier requests were taken; a new one arrived since: a queue that moves is not congested.
        Assert.Equal(CongestionSignal.None, policy.Check(Lc, LcApp(1, queued: 1, totalQueued: 3, totalTaken: 2), 5));
        // Empty queue: never congested.
        Assert.Equal(CongestionSignal.None, policy.Check(Lc, LcApp(1, queued: 0, totalQueued: 3, totalTaken: 3), 10));
    }

    [Fact]
    public void QueueDelayFiresOnlyOnceTheOldestRequestWaitedPastTheThreshold()
    {
        var clock = new ManualTimeSource();
        var policy = new QueueDelayAllocation(Clock.FromMicros(10));
        AppView app = LcApp(0, queued: 1, totalQueued: 1);
        app.OldestQueuedTicks = clock.Now();
        clock.AdvanceMicros(9);
        Assert.Equal(CongestionSignal.None, policy.Check(Lc, app, clock.Now()));
        clock.AdvanceMicros(1);
        Assert.Equal(CongestionSignal.QueueDelay, policy.Check(Lc, app, clock.Now()));
        app.OldestQueuedTicks = 0; // drained
        Assert.Equal(CongestionSignal.None, policy.Check(Lc, app, clock.Now()));
    }

    [Fact]
    public void CongestedAppTakesABatchCoreWhenNoneIsIdle()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        AppView[] apps = [LcApp(0, queued: 3, totalQueued: 3), BatchApp(2)];
        WorkerView[] workers = Owned(Batch, Batch);
        Assert.Equal(0, Decide(allocator, 0, apps, workers).N); // first sight of the queue
        (int n, CoreMove[] moves) = Decide(allocator, Clock.FromMicros(5), apps, workers);
        Assert.Equal(1, n);
        // Seen at the check that first saw the request that then stood, not at the decision.
        Assert.Equal(new CoreMove(0, Batch, Lc, AllocationReason.Congestion, SeenTicks: 0), moves[0]);
        Assert.Equal((1, 1), (apps[Lc].Cores, apps[Batch].Cores));
    }

    [Fact]
    public void AGrantDelayedForWantOfACoreStillDatesFromTheCheckThatFirstSawTheQueue()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        long t0 = Clock.FromMicros(100), t1 = Clock.FromMicros(105), t2 = Clock.FromMicros(110);
        AppView[] Apps() => [LcApp(0, queued: 3, totalQueued: 3), BatchApp(1)];
        WorkerView[] busy = [new WorkerView { Owner = Batch, GrantPending = true }]; // no core to be had
        Assert.Equal(0, Decide(allocator, t0, Apps(), busy).N); // first sight of the queue
        Assert.Equal(0, Decide(allocator, t1, Apps(), busy).N); // it stands, but nothing can move
        (int n, CoreMove[] moves) = Decide(allocator, t2, Apps(), Owned(Batch));
        Assert.Equal(1, n);
        Assert.Equal(t0, moves[0].SeenTicks);

        // Answered: a queue that stands again later is congestion seen anew, at its own first check.
        Assert.Equal(0, Decide(allocator, Clock.FromMicros(200), [LcApp(1), BatchApp(0)], Owned(Lc)).N);
        long t3 = Clock.FromMicros(300);
        Assert.Equal(0, Decide(allocator, t3, [LcApp(1, queued: 2, totalQueued: 5, totalTaken: 3), BatchApp(1)], Owned(Lc, Batch)).N);
        (n, moves) = Decide(allocator, Clock.FromMicros(305), [LcApp(1, queued: 2, totalQueued: 5, totalTaken: 3), BatchApp(1)], Owned(Lc, Batch));
        Assert.Equal(1, n);
        Assert.Equal(t3, moves[0].SeenTicks);
    }

    [Fact]
    public void TheLogMeasuresAGrantFromTheCheckThatSawTheNeedAndTheMoveFromTheDecision()
    {
        var log = new AllocationLog(4);
        int i = log.Add(Clock.FromMicros(105), new CoreMove(0, Batch, Lc, AllocationReason.Congestion, SeenTicks: Clock.FromMicros(100)));
        log.Acknowledge(i, Clock.FromMicros(106));
        AllocationRecord r = log.Records[0];
        Assert.Equal(Clock.FromMicros(6), r.LatencyTicks);
        Assert.Equal(Clock.FromMicros(1), r.MoveTicks);
        Assert.Equal([6.0], log.GrantLatenciesMicros(a => a == Lc).Select(v => Math.Round(v)));
        Assert.Equal([1.0], log.GrantLatenciesMicros(a => a == Lc, fromDecision: true).Select(v => Math.Round(v)));
    }

    [Fact]
    public void AnIdleCoreIsTakenBeforeAnyBatchCore()
    {
        var allocator = new CoreAllocator(new QueueDelayAllocation(1), s_release);
        AppView lc = LcApp(0, queued: 1, totalQueued: 1);
        lc.OldestQueuedTicks = 1;
        AppView[] apps = [lc, BatchApp(1, max: 1)];
        (int n, CoreMove[] moves) = Decide(allocator, 100, apps, Owned(Batch, Worker.NoApp));
        Assert.Equal(1, n);
        // Caladan's test fires at the check that sees the delay: seen and decided at once.
        Assert.Equal(new CoreMove(1, Worker.NoApp, Lc, AllocationReason.QueueDelay, SeenTicks: 100), moves[0]);
    }

    [Fact]
    public void CongestedAppNeverExceedsItsMaximum()
    {
        var allocator = new CoreAllocator(new QueueDelayAllocation(1), s_release);
        AppView lc = LcApp(1, queued: 5, totalQueued: 5, max: 1);
        lc.OldestQueuedTicks = 1;
        Assert.Equal(0, Decide(allocator, 100, [lc, BatchApp(1)], Owned(Lc, Batch)).N);
    }

    [Fact]
    public void AppBelowItsGuaranteedCoresWinsWithoutWaitingForCongestion()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        // No idle or batch core: the guarantee takes one from another LC app that is above its own.
        AppView[] apps = [LcApp(0, queued: 1, totalQueued: 1, guaranteed: 1), LcApp(2, guaranteed: 0)];
        (int n, CoreMove[] moves) = Decide(allocator, 0, apps, Owned(1, 1));
        Assert.Equal(1, n);
        Assert.Equal(AllocationReason.Guaranteed, moves[0].Reason);
        Assert.Equal((1, 0), (moves[0].From, moves[0].To));
    }

    [Fact]
    public void BatchGetsTheCoreBackOnceTheLcCarrierHasBeenIdleForTheReleaseTime()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        long idleSince = Clock.FromMicros(100);
        WorkerView[] Workers() => [new WorkerView { Owner = Lc, IdleSinceTicks = idleSince }];

        // Idle, but not yet for long enough.
        Assert.Equal(0, Decide(allocator, idleSince + s_release - 1, [LcApp(1), BatchApp(0)], Workers()).N);
        // Long enough: the core goes to batch.
        (int n, CoreMove[] moves) = Decide(allocator, idleSince + s_release, [LcApp(1), BatchApp(0)], Workers());
        Assert.Equal(1, n);
        Assert.Equal(new CoreMove(0, Lc, Batch, AllocationReason.IdleRelease, idleSince + s_release), moves[0]);
    }

    [Fact]
    public void ReleasesAloneNeedNoIntervalAndGrantNothing()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        long idleSince = Clock.FromMicros(100);
        // A congested app elsewhere gets nothing from the release pass: grants wait for the interval.
        AppView[] apps = [LcApp(1), BatchApp(0), LcApp(0, queued: 5, totalQueued: 5)];
        WorkerView[] workers = [new WorkerView { Owner = Lc, IdleSinceTicks = idleSince }];
        var moves = new CoreMove[4];
        int n = allocator.DecideReleases(idleSince + s_release, apps, workers, moves);
        Assert.Equal(1, n);
        Assert.Equal(new CoreMove(0, Lc, Batch, AllocationReason.IdleRelease, idleSince + s_release), moves[0]);
    }

    [Theory]
    [InlineData(1, 0, 0)] // a request is still at the worker
    [InlineData(0, 1, 0)] // the app has queued work
    [InlineData(0, 0, 1)] // the core is one of the app's spinning cores
    public void IdleLcCoreIsKeptWhileItsAppStillNeedsIt(int occupancy, int queued, int spinning)
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release);
        WorkerView[] workers = [new WorkerView { Owner = Lc, IdleSinceTicks = 1, Occupancy = occupancy }];
        AppView[] apps = [LcApp(1, queued: queued, totalQueued: queued, spinning: spinning), BatchApp(0)];
        Assert.DoesNotContain(Decide(allocator, Clock.FromMicros(1000), apps, workers).Moves, m => m.Reason == AllocationReason.IdleRelease);
    }

    [Fact]
    public void StaticPartitionNeverMovesACore()
    {
        var allocator = new CoreAllocator(new StaticAllocation(), s_release);
        AppView[] apps = [LcApp(1, queued: 100, totalQueued: 100, guaranteed: 1), BatchApp(1)];
        for (long t = 0; t < 10; t++)
        {
            Assert.Equal(0, Decide(allocator, t * Clock.FromMicros(5), apps, [new WorkerView { Owner = Lc, IdleSinceTicks = 1 }, new WorkerView { Owner = Batch }]).N);
        }
    }

    [Fact]
    public void InitialPartitionGivesLcItsGuaranteedCoresWhenStaticAndItsSpinningCoresOtherwise()
    {
        AppView[] apps = [LcApp(0, guaranteed: 2, spinning: 1), BatchApp(0)];
        var owners = new int[3];
        new CoreAllocator(new StaticAllocation(), s_release).InitialAssignment(apps, owners);
        Assert.Equal([Lc, Lc, Batch], owners);
        new CoreAllocator(new StandingQueueAllocation(), s_release).InitialAssignment(apps, owners);
        Assert.Equal([Lc, Batch, Batch], owners);
    }

    // Two latency-critical apps, both overloaded, one core: each check sees both queues standing.
    private static List<CoreMove> RunTwoCongestedApps(CoreAllocator allocator, int checks, out List<int> ownerAtCheck)
    {
        int owner = 0;
        var moves = new List<CoreMove>();
        ownerAtCheck = [];
        for (int k = 1; k <= checks; k++)
        {
            long queued = 10L * k;
            AppView[] apps =
            [
                LcApp(owner == 0 ? 1 : 0, queued: 15, totalQueued: queued, totalTaken: queued - 15),
                LcApp(owner == 1 ? 1 : 0, queued: 15, totalQueued: queued, totalTaken: queued - 15),
            ];
            (int n, CoreMove[] decided) = Decide(allocator, Clock.FromMicros(5 * k), apps, Owned(owner));
            for (int i = 0; i < n; i++)
            {
                moves.Add(decided[i]);
                owner = decided[i].To;
            }
            ownerAtCheck.Add(owner);
        }
        return moves;
    }

    [Fact]
    public void WithoutSharingACongestedAppWaitsAsLongAsAnotherAppsQueueStands()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release, shareTicks: 0);
        Assert.Empty(RunTwoCongestedApps(allocator, checks: 2_000, out _)); // 10 ms: app 1 never runs
    }

    [Fact]
    public void TwoCongestedAppsOnOneCoreTakeTurnsOfTheShareTime()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release, shareTicks: Clock.FromMicros(1000));
        List<CoreMove> moves = RunTwoCongestedApps(allocator, checks: 2_000, out List<int> owners); // 10 ms
        // Turns alternate, each taken from the app holding the core, as a share.
        Assert.InRange(moves.Count, 8, 10);
        Assert.All(moves, m => Assert.Equal(AllocationReason.Share, m.Reason));
        Assert.All(moves.Select((m, i) => (m, i)), x => Assert.Equal((x.i % 2, 1 - x.i % 2), (x.m.From, x.m.To)));
        // App 1 first waited about the share time from the check that first saw its queue stand.
        Assert.Equal(Clock.FromMicros(5), moves[0].SeenTicks);
        int firstTurn = owners.IndexOf(1);
        Assert.InRange(5 * (firstTurn + 1), 1000, 1010);
        // Neither app ever goes longer than the share time (and one interval) without the core.
        foreach (int app in new[] { 0, 1 })
        {
            int longest = 0, run = 0;
            foreach (int o in owners.Skip(firstTurn))
            {
                run = o == app ? 0 : run + 1;
                longest = Math.Max(longest, run);
            }
            Assert.InRange(5 * longest, 0, 1010);
        }
    }

    [Fact]
    public void SharingNeverTakesAGuaranteedCoreNorOneFromAnAppWithNoMoreCoresThanTheTaker()
    {
        var allocator = new CoreAllocator(new StandingQueueAllocation(), s_release, shareTicks: Clock.FromMicros(10));
        for (int k = 1; k <= 100; k++)
        {
            long queued = 10L * k;
            // Three overloaded apps on three cores, one each; app 0's is guaranteed. Nobody may give.
            AppView[] apps =
            [
                LcApp(1, queued: 15, totalQueued: queued, totalTaken: queued - 15, guaranteed: 1),
                LcApp(1, queued: 15, totalQueued: queued, totalTaken: queued - 15),
                LcApp(1, queued: 15, totalQueued: queued, totalTaken: queued - 15),
            ];
            Assert.Equal(0, Decide(allocator, Clock.FromMicros(5 * k), apps, Owned(0, 1, 2)).N);
        }
        // An app without a core may not take app 0's guaranteed one either.
        var taker = new CoreAllocator(new StandingQueueAllocation(), s_release, shareTicks: Clock.FromMicros(10));
        for (int k = 1; k <= 100; k++)
        {
            long queued = 10L * k;
            AppView[] apps =
            [
                LcApp(1, queued: 15, totalQueued: queued, totalTaken: queued - 15, guaranteed: 1),
                LcApp(0, queued: 15, totalQueued: queued, totalTaken: queued - 15),
            ];
            Assert.Equal(0, Decide(taker, Clock.FromMicros(5 * k), apps, Owned(0)).N);
        }
    }
}
