// Who gets which core at a check: grants to congested or under-guaranteed apps, releases of idle cores to batch.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Allocation;

/// <summary>Why a core moved.</summary>
internal enum AllocationReason
{
    /// <summary>The partition at start.</summary>
    Initial,
    /// <summary>A latency-critical app below its guaranteed (or spinning) cores had work.</summary>
    Guaranteed,
    /// <summary>A standing queue (Shenango).</summary>
    Congestion,
    /// <summary>The oldest queued request waited too long (Caladan).</summary>
    QueueDelay,
    /// <summary>A congested latency-critical app that no idle or batch core could answer for the
    /// share time took a core from a latency-critical app holding more cores than it.</summary>
    Share,
    /// <summary>The carrier found no work for its latency-critical app for long enough.</summary>
    IdleRelease,
    /// <summary>An idle core went to the batch app.</summary>
    BatchFill,
    /// <summary>The host is stopping.</summary>
    Shutdown,
}

/// <summary>One decision: core <see cref="Worker"/> goes from app <see cref="From"/> to app <see cref="To"/> (-1: none).</summary>
/// <param name="Worker">The worker whose core moves.</param>
/// <param name="From">The app that held it (-1: none).</param>
/// <param name="To">The app that gets it (-1: none).</param>
/// <param name="Reason">Why.</param>
/// <param name="SeenTicks">When the check that saw the need for it ran. For a congestion grant, the
/// check that first saw the congestion it answers: under a standing queue, the check before the one
/// that decided (it saw the request that then stood), and the first of several checks that found the
/// app congested while no core could be had; otherwise the decision itself. A grant's latency runs
/// from here, so it counts the detection as well as the move.</param>
internal readonly record struct CoreMove(int Worker, int From, int To, AllocationReason Reason, long SeenTicks = 0);

/// <summary>
/// The allocation rules, apart from the mechanism that moves cores (the IOKernel's AdjustCores
/// stage) and from the congestion test (an <see cref="ICoreAllocationPolicy"/>). Pure over its
/// inputs and one small memory (when each app's unanswered congestion was first seen, and when the
/// previous check ran, so a grant's latency can start there): the IOKernel hands it snapshots and
/// gets moves back, so tests drive it with a fake clock. At each check, in order:
/// <list type="number">
/// <item>a latency-critical app with work and fewer cores than guaranteed (or fewer than its
/// spinning cores) gets one, even from another latency-critical app above its own guarantee;</item>
/// <item>a congested latency-critical app below its maximum gets one core: an idle one, else one
/// taken from a batch app; and when neither has been found for the share time since its congestion
/// was first seen, one taken from the latency-critical app with the most cores above its guarantee,
/// if that app holds more cores than it (so two congested apps on too few cores take turns, each
/// at least every share time, and none waits for ever behind another's standing queue);</item>
/// <item>a core whose carrier found no work for its latency-critical app for the release time,
/// with nothing queued for that app, goes to a batch app that wants it (else it idles);</item>
/// <item>idle cores go to a batch app below its maximum.</item>
/// </list>
/// It never allocates.
/// </summary>
internal sealed class CoreAllocator
{
    private const long NotCongested = long.MinValue;

    // Per app: when the congestion still unanswered was first seen; and when the previous check ran,
    // since a standing queue is one the previous check already saw.
    private readonly long[] _congestedSince;
    private long _previousCheckTicks;
    private bool _checkedBefore;

    /// <param name="policy">The congestion test.</param>
    /// <param name="releaseIdleTicks">How long a carrier must have found nothing before its core is released.</param>
    /// <param name="maxApps">Apps the allocator keeps congestion state for.</param>
    /// <param name="shareTicks">How long a congested latency-critical app waits, with no idle or batch
    /// core to be had, before it takes one from a latency-critical app that holds more (0: never).</param>
    public CoreAllocator(ICoreAllocationPolicy policy, long releaseIdleTicks, int maxApps = 64, long shareTicks = 0)
    {
        Policy = policy;
        ReleaseIdleTicks = releaseIdleTicks;
        ShareTicks = shareTicks;
        _congestedSince = new long[maxApps];
        Array.Fill(_congestedSince, NotCongested);
    }

    /// <summary>The congestion test.</summary>
    public ICoreAllocationPolicy Policy { get; }

    /// <summary>How long a carrier must have found nothing before its core is released.</summary>
    public long ReleaseIdleTicks { get; }

    /// <summary>How long a congested latency-critical app waits for an idle or batch core before it
    /// takes one from a latency-critical app holding more cores (0: never).</summary>
    public long ShareTicks { get; }

    /// <summary>
    /// The partition at start. Static: every latency-critical app its guaranteed cores. Otherwise:
    /// its spinning cores. Batch apps share the rest, up to their maximum; the remainder idles.
    /// </summary>
    public void InitialAssignment(ReadOnlySpan<AppView> apps, Span<int> owners)
    {
        owners.Fill(Worker.NoApp);
        int next = 0;
        for (int a = 0; a < apps.Length && next < owners.Length; a++)
        {
            if (apps[a].Priority != AppPriority.LatencyCritical)
            {
                continue;
            }
            int want = Policy.Reallocates ? Math.Max(apps[a].SpinningCores, 0) : apps[a].GuaranteedCores;
            want = Math.Min(want, apps[a].MaxCores);
            for (int i = 0; i < want && next < owners.Length; i++)
            {
                owners[next++] = a;
            }
        }
        for (int a = 0; a < apps.Length; a++)
        {
            if (apps[a].Priority != AppPriority.Batch)
            {
                continue;
            }
            for (int i = 0; i < apps[a].MaxCores && next < owners.Length; i++)
            {
                owners[next++] = a;
            }
        }
    }

    /// <summary>
    /// One check at <paramref name="now"/>. Updates <paramref name="apps"/> (core counts) and
    /// <paramref name="workers"/> (owners) as it decides, so later rules see earlier moves, and
    /// writes the moves. Returns how many.
    /// </summary>
    public int Decide(long now, Span<AppView> apps, Span<WorkerView> workers, Span<CoreMove> moves)
    {
        int n = 0;
        long previousCheck = _checkedBefore ? _previousCheckTicks : now;
        _previousCheckTicks = now;
        _checkedBefore = true;
        for (int a = 0; a < apps.Length; a++)
        {
            if (apps[a].Priority != AppPriority.LatencyCritical)
            {
                continue;
            }
            // Always run the test: a policy may keep per-app state from check to check.
            CongestionSignal signal = Policy.Check(a, apps[a], now);
            if (signal == CongestionSignal.None)
            {
                _congestedSince[a] = NotCongested;
            }
            else if (_congestedSince[a] == NotCongested)
            {
                _congestedSince[a] = signal == CongestionSignal.StandingQueue ? previousCheck : now;
            }
            if (!Policy.Reallocates || n >= moves.Length)
            {
                continue;
            }
            ref AppView app = ref apps[a];
            bool underGuarantee = (app.Queued > 0 && app.Cores < app.GuaranteedCores) || app.Cores < app.SpinningCores;
            bool congested = signal != CongestionSignal.None && app.Cores < app.MaxCores;
            if (!underGuarantee && !congested)
            {
                continue;
            }
            int w = FindCore(apps, workers, a, allowLatencyCritical: underGuarantee);
            bool share = false;
            if (w < 0 && !underGuarantee && ShareTicks > 0 && now - _congestedSince[a] >= ShareTicks)
            {
                w = FindSharedCore(apps, workers, a);
                share = w >= 0;
            }
            if (w < 0)
            {
                continue;
            }
            AllocationReason reason = underGuarantee ? AllocationReason.Guaranteed
                : share ? AllocationReason.Share
                : signal == CongestionSignal.QueueDelay ? AllocationReason.QueueDelay : AllocationReason.Congestion;
            int from = workers[w].Owner;
            Move(apps, workers, moves, ref n, w, a, reason, underGuarantee || _congestedSince[a] == NotCongested ? now : _congestedSince[a]);
            if (share)
            {
                // The giver's turn ends here: if it is still congested, its wait for the next turn starts now.
                _congestedSince[from] = now;
            }
            // Answered: if the queue still stands at the next check, that is congestion seen anew.
            _congestedSince[a] = NotCongested;
        }

        if (!Policy.Reallocates)
        {
            return n;
        }
        return DecideReleases(now, apps, workers, moves, n);
    }

    /// <summary>
    /// Rules 3 and 4 alone: idle latency-critical cores to batch, idle cores to batch. Unlike the
    /// congestion test these need no interval (they compare nothing with a previous check), so the
    /// IOKernel runs them on every loop turn where a core could be released, as Shenango's idle
    /// kthreads give their core back at once rather than on the next tick.
    /// </summary>
    public int DecideReleases(long now, Span<AppView> apps, Span<WorkerView> workers, Span<CoreMove> moves, int n = 0)
    {
        if (!Policy.Reallocates)
        {
            return n;
        }
        for (int w = 0; w < workers.Length && n < moves.Length; w++)
        {
            ref WorkerView view = ref workers[w];
            int owner = view.Owner;
            if (owner < 0 || apps[owner].Priority != AppPriority.LatencyCritical || view.GrantPending || view.Occupancy != 0)
            {
                continue;
            }
            ref AppView app = ref apps[owner];
            if (view.IdleSinceTicks == 0 || now - view.IdleSinceTicks < ReleaseIdleTicks || app.Queued > 0 || app.Cores <= app.SpinningCores)
            {
                continue;
            }
            Move(apps, workers, moves, ref n, w, BatchWanting(apps), AllocationReason.IdleRelease, now);
        }

        for (int w = 0; w < workers.Length && n < moves.Length; w++)
        {
            if (workers[w].Owner != Worker.NoApp)
            {
                continue;
            }
            int batch = BatchWanting(apps);
            if (batch < 0)
            {
                break;
            }
            Move(apps, workers, moves, ref n, w, batch, AllocationReason.BatchFill, now);
        }
        return n;
    }

    /// <summary>An idle core, else a batch app's, else (for guarantees) one of a latency-critical app above its guarantee.</summary>
    private static int FindCore(ReadOnlySpan<AppView> apps, ReadOnlySpan<WorkerView> workers, int forApp, bool allowLatencyCritical)
    {
        int batchCore = -1, lcCore = -1;
        for (int w = 0; w < workers.Length; w++)
        {
            int owner = workers[w].Owner;
            if (owner == Worker.NoApp)
            {
                return w;
            }
            if (owner == forApp || workers[w].GrantPending)
            {
                continue;
            }
            if (apps[owner].Priority == AppPriority.Batch)
            {
                batchCore = batchCore < 0 ? w : batchCore;
            }
            else if (allowLatencyCritical && lcCore < 0 && workers[w].Occupancy == 0 && apps[owner].Cores > apps[owner].GuaranteedCores)
            {
                lcCore = w;
            }
        }
        return batchCore >= 0 ? batchCore : lcCore;
    }

    /// <summary>
    /// A core of the latency-critical app with the most cores above its guarantee, if it holds more
    /// than <paramref name="forApp"/> does (busy or not: what the core ran comes back to its app's
    /// queue, and a running slice ends first); -1 when there is none.
    /// </summary>
    private static int FindSharedCore(ReadOnlySpan<AppView> apps, ReadOnlySpan<WorkerView> workers, int forApp)
    {
        int best = -1;
        for (int w = 0; w < workers.Length; w++)
        {
            int owner = workers[w].Owner;
            if (owner < 0 || owner == forApp || workers[w].GrantPending || apps[owner].Priority != AppPriority.LatencyCritical
                || apps[owner].Cores <= apps[owner].GuaranteedCores || apps[owner].Cores <= apps[forApp].Cores)
            {
                continue;
            }
            // The app with the most cores gives; among its cores, the least loaded.
            if (best < 0 || apps[owner].Cores > apps[workers[best].Owner].Cores
                || (owner == workers[best].Owner && workers[w].Occupancy < workers[best].Occupancy))
            {
                best = w;
            }
        }
        return best;
    }

    private static int BatchWanting(ReadOnlySpan<AppView> apps)
    {
        int best = Worker.NoApp;
        for (int a = 0; a < apps.Length; a++)
        {
            if (apps[a].Priority == AppPriority.Batch && apps[a].Cores < apps[a].MaxCores
                && (best < 0 || apps[a].Cores < apps[best].Cores))
            {
                best = a;
            }
        }
        return best;
    }

    private static void Move(Span<AppView> apps, Span<WorkerView> workers, Span<CoreMove> moves, ref int n, int w, int to,
        AllocationReason reason, long seenTicks)
    {
        int from = workers[w].Owner;
        if (from >= 0)
        {
            apps[from].Cores--;
        }
        if (to >= 0)
        {
            apps[to].Cores++;
        }
        workers[w].Owner = to;
        workers[w].GrantPending = true;
        workers[w].IdleSinceTicks = 0;
        moves[n++] = new CoreMove(w, from, to, reason, seenTicks);
    }
}
