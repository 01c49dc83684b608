// Stage 6, adjust cores: every congestion interval, grants cores to congested apps and lends idle ones to batch.
using NetStack.IOKernel.Allocation;
using NetStack.Runtime;

namespace NetStack.IOKernel;

internal sealed partial class Kernel
{
    private readonly CoreAllocator _allocator;
    private readonly AppView[] _appViews;
    private readonly WorkerView[] _workerViews;
    private readonly CoreMove[] _moves;
    private readonly long _intervalTicks;
    private long _nextAdjust;

    /// <summary>
    /// Shenango's 5 µs loop: acknowledges moves whose carrier now serves its new owner (their
    /// latency goes into the allocation log), then asks the allocator for this interval's moves and
    /// makes them. A move is a write of the worker's assignment word: the carrier sees it at the top
    /// of its loop, or a running batch job sees it at its next yield check; no thread is woken
    /// unless it parked. Between intervals, an idle latency-critical core is released as soon as
    /// it is due, not at the next interval: releases compare nothing with a previous check.
    /// </summary>
    private bool AdjustCores(long now)
    {
        if (now < _nextAdjust)
        {
            return _allocator.Policy.Reallocates && ReleaseDue(now) && ReleaseIdleCores(now);
        }
        _nextAdjust = now + _intervalTicks;

        AcknowledgeMoves();
        if (!_allocator.Policy.Reallocates)
        {
            return false;
        }

        FillViews(now);
        int n = _allocator.Decide(now, _appViews, _workerViews, _moves);
        for (int i = 0; i < n; i++)
        {
            MoveCore(_moves[i], now);
        }
        return n > 0;
    }

    /// <summary>Cheap test, run every loop turn: is some latency-critical core idle long enough to
    /// go to batch, with nothing at it or queued for its app? (The allocator decides for real.)</summary>
    private bool ReleaseDue(long now)
    {
        long releaseAfter = _allocator.ReleaseIdleTicks;
        for (int w = 0; w < _workers.Length; w++)
        {
            int owner = _slots[w].Owner;
            if (owner < 0 || _slots[w].Occupancy != 0)
            {
                continue;
            }
            KernelApp app = _apps[owner];
            if (app.Policy is not { Count: 0 } || app.Cores <= app.Options.SpinningCores)
            {
                continue;
            }
            long idleSince = _workers[w].IdleSinceTicks;
            if (idleSince != 0 && now - idleSince >= releaseAfter)
            {
                return true;
            }
        }
        return false;
    }

    private bool ReleaseIdleCores(long now)
    {
        AcknowledgeMoves();
        FillViews(now);
        int n = _allocator.DecideReleases(now, _appViews, _workerViews, _moves);
        for (int i = 0; i < n; i++)
        {
            MoveCore(_moves[i], now);
        }
        return n > 0;
    }

    private void FillViews(long now)
    {
        FillAppViews(now);
        for (int w = 0; w < _workers.Length; w++)
        {
            Runtime.Scheduling.Worker worker = _workers[w];
            _workerViews[w] = new WorkerView
            {
                Owner = _slots[w].Owner,
                Occupancy = _slots[w].Occupancy,
                IdleSinceTicks = worker.IdleSinceTicks,
                // A stuck worker cannot be moved either: its carrier is inside code that does not return.
                GrantPending = worker.SeenEpoch < _slots[w].GrantEpoch || _watch.IsStuck(w),
            };
        }
    }

    /// <summary>Moves whose carrier now serves the new owner get their latency.</summary>
    private void AcknowledgeMoves()
    {
        for (int w = 0; w < _workers.Length; w++)
        {
            // Exactly this epoch: a later one (the shutdown's) carries a later stamp.
            if (_slots[w].GrantEvent >= 0 && _workers[w].SeenEpoch == _slots[w].GrantEpoch)
            {
                AllocationLog.Acknowledge(_slots[w].GrantEvent, _workers[w].SeenTicks);
                _slots[w].GrantEvent = -1;
            }
            if (_watch.IsStuckInBatch(w) && _workers[w].SeenEpoch >= _slots[w].GrantEpoch)
            {
                Recover(w, WatchdogEventKind.BatchRecovered);
            }
        }
    }

    private void MoveCore(CoreMove move, long now)
    {
        int w = move.Worker;
        if (move.From >= 0)
        {
            _apps[move.From].Cores--;
        }
        if (move.To >= 0)
        {
            _apps[move.To].Cores++;
        }
        // Dispatch stops at once for the old owner; anything it already put in the mailbox comes
        // back from the carrier as Returned and goes to the head of its queue.
        Volatile.Write(ref _slots[w].Owner, move.To);
        _watch.Moved(w, move.From);
        _slots[w].GrantTicks = now;
        _slots[w].GrantEpoch = _workers[w].Assign(move.To);
        _slots[w].GrantEvent = AllocationLog.Add(now, move);
        Counters.CoreMoves++;
        TellOwners(move.From);
        TellOwners(move.To);
    }

    private void FillAppViews(long now)
    {
        for (int a = 0; a < _apps.Length; a++)
        {
            KernelApp app = _apps[a];
            Policies.ISchedulingPolicy? p = app.Policy;
            _appViews[a] = new AppView
            {
                Priority = app.Options.Priority,
                MaxCores = app.Options.MaxCores,
                GuaranteedCores = app.Options.GuaranteedCores,
                SpinningCores = app.Options.SpinningCores,
                // A core stuck in code that does not return is counted lost, so a congested app can get another.
                Cores = app.Cores - app.StuckCores,
                Queued = p?.Count ?? 0,
                TotalQueued = p?.TotalQueued ?? 0,
                TotalTaken = p?.TotalTaken ?? 0,
                OldestQueuedTicks = p?.OldestQueuedTicks ?? 0,
            };
        }
    }
}
