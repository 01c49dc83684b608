// Stage 7, watch: slices that run past the watchdog's bound without a checkpoint, and batch jobs that keep a core they were asked to give back.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

/// <summary>What the watchdog saw.</summary>
internal enum WatchdogEventKind
{
    /// <summary>A slice ran past the bound without reaching a checkpoint: its core is counted lost to its app.</summary>
    StuckSlice,
    /// <summary>That slice ended: the core is its app's again.</summary>
    SliceRecovered,
    /// <summary>A batch job kept a core past the bound after the IOKernel asked for it.</summary>
    StuckBatch,
    /// <summary>That job gave the core back.</summary>
    BatchRecovered,
}

/// <summary>One watchdog event, for the host's log and the metrics.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Worker">The worker's index.</param>
/// <param name="Core">Its core.</param>
/// <param name="App">The app whose code holds the core (the request's app, or the batch app).</param>
/// <param name="RequestType">The running request's type (-1 for batch).</param>
/// <param name="Protocol">The request's protocol, which names its type (null for batch or in-process).</param>
/// <param name="ForTicks">How long the slice (or the refused move) had lasted when seen.</param>
internal readonly record struct WatchdogEvent(WatchdogEventKind Kind, int Worker, int Core, string App, int RequestType,
    AppProtocol? Protocol, long ForTicks)
{
    /// <summary>The request type's name.</summary>
    public string TypeName => RequestType < 0 ? "batch" : Protocol?.TypeName(RequestType) ?? $"type-{RequestType}";

    /// <summary>One line for the host's log.</summary>
    public override string ToString()
    {
        double ms = Clock.ToMicros(ForTicks) / 1000;
        return Kind switch
        {
            WatchdogEventKind.StuckSlice =>
                $"watchdog: app {App}, request type {TypeName}: running {ms:0.#} ms without a checkpoint on worker {Worker} (core {Core}); " +
                "the core is counted lost to the app and gets no more requests until the handler returns",
            WatchdogEventKind.SliceRecovered => $"watchdog: app {App}, request type {TypeName}: returned after {ms:0.#} ms; worker {Worker} (core {Core}) serves again",
            WatchdogEventKind.StuckBatch =>
                $"watchdog: batch app {App} has kept worker {Worker} (core {Core}) {ms:0.#} ms after it was asked for; the job does not check ShouldYield",
            _ => $"watchdog: batch app {App} gave worker {Worker} (core {Core}) back after {ms:0.#} ms",
        };
    }
}

internal sealed partial class Kernel
{
    private readonly SliceWatchdog _watch;
    private readonly ConcurrentQueue<WatchdogEvent> _watchdogEvents = new();
    private readonly long _watchBoundTicks;
    private readonly long _watchIntervalTicks;
    private long _nextWatch;

    /// <summary>Takes the next watchdog event (the host logs them).</summary>
    public bool TryReadWatchdogEvent(out WatchdogEvent e) => _watchdogEvents.TryDequeue(out e);

    /// <summary>
    /// Every millisecond: a worker whose slice has run past <see cref="KernelOptions.WatchdogMillis"/>
    /// is reported once, gets no more dispatches, and its core is counted lost to its app (the
    /// allocator may grant another); a core granted away from a batch app whose job has not let go
    /// within the bound is reported the same way. .NET cannot abort a thread, so this is all a
    /// scheduler can do: stop feeding the core, give the app another, say so, and take the core back
    /// when the code returns (<see cref="RetireFromWorker"/>, <see cref="AcknowledgeMoves"/>).
    /// </summary>
    private bool Watch(long now)
    {
        if (now < _nextWatch)
        {
            return false;
        }
        _nextWatch = now + _watchIntervalTicks;
        for (int w = 0; w < _workers.Length; w++)
        {
            if (_watch.IsStuck(w))
            {
                continue;
            }
            Worker worker = _workers[w];
            if (worker.SeenEpoch < _slots[w].GrantEpoch)
            {
                long waited = now - _slots[w].GrantTicks;
                if (waited > _watchBoundTicks && _watch.PreviousOwner(w) is int from && from >= 0 && _apps[from].Job is not null)
                {
                    MarkStuck(w, WatchdogEventKind.StuckBatch, _apps[from].Name, -1, null, waited);
                    Counters.StuckBatchSlices++;
                }
                continue;
            }
            int owner = _slots[w].Owner;
            if (owner < 0 || _slots[w].Occupancy == 0)
            {
                continue;
            }
            long slice = worker.RunningSliceAfter(_slots[w].SlicesEnded);
            if (slice != 0 && now - slice > _watchBoundTicks && _watch.Running(w) is { } t)
            {
                MarkStuck(w, WatchdogEventKind.StuckSlice, _apps[t.AppId].Name, t.Type, t.Protocol, now - slice);
                Counters.StuckSlices++;
            }
        }
        return false;
    }

    private void MarkStuck(int w, WatchdogEventKind kind, string app, int type, AppProtocol? protocol, long forTicks)
    {
        _watch.SetStuck(w, true, _slots[w].Owner, _time.Now(), batch: kind == WatchdogEventKind.StuckBatch);
        if (_slots[w].Owner >= 0)
        {
            _apps[_slots[w].Owner].StuckCores++;
        }
        _watchdogEvents.Enqueue(new WatchdogEvent(kind, w, _workers[w].Core, app, type, protocol, forTicks));
    }

    /// <summary>The code that held a stuck core returned (a completion came back, or a move was acknowledged).</summary>
    private void Recover(int w, WatchdogEventKind kind)
    {
        int owner = _watch.StuckOwner(w);
        if (owner >= 0 && owner < _apps.Length)
        {
            _apps[owner].StuckCores--;
        }
        long since = _watch.StuckSince(w);
        GreenThread? t = _watch.Running(w);
        _watch.SetStuck(w, false, -1, 0, batch: false);
        if (kind == WatchdogEventKind.BatchRecovered)
        {
            string job = _watch.PreviousOwner(w) is int from && from >= 0 ? _apps[from].Name : "batch";
            _watchdogEvents.Enqueue(new WatchdogEvent(kind, w, _workers[w].Core, job, -1, null, _time.Now() - since));
            return;
        }
        _watchdogEvents.Enqueue(new WatchdogEvent(kind, w, _workers[w].Core, t is null ? "?" : _apps[t.AppId].Name, t?.Type ?? -1,
            t?.Protocol, _time.Now() - since));
    }
}

/// <summary>
/// The IOKernel's own record of what each worker holds, in dispatch order (the carrier runs its
/// mailbox in order, so the oldest is the one running), and which workers are stuck. IOKernel
/// thread only: nothing here is read across cores. It keeps registry indexes, not references: a
/// reference stored into an array is a GC write barrier, and a dispatch records one per request.
/// </summary>
internal sealed class SliceWatchdog
{
    private const int None = -1;
    private readonly Runtime.Threading.GreenThreadRegistry _registry;
    private readonly int[] _held;
    private readonly int[] _head;
    private readonly int[] _count;
    private readonly bool[] _stuck;
    private readonly bool[] _stuckBatch;
    private readonly int[] _stuckOwner;
    private readonly long[] _stuckSince;
    private readonly int[] _previousOwner;
    private readonly int _depth;

    /// <param name="workers">Workers recorded.</param>
    /// <param name="depth">What a worker may hold at once (JBSQ's k).</param>
    /// <param name="registry">Where the green threads it records are registered (the pool's).</param>
    public SliceWatchdog(int workers, int depth, Runtime.Threading.GreenThreadRegistry registry)
    {
        _depth = depth;
        _registry = registry;
        _held = new int[workers * depth];
        Array.Fill(_held, None);
        _head = new int[workers];
        _count = new int[workers];
        _stuck = new bool[workers];
        _stuckBatch = new bool[workers];
        _stuckOwner = new int[workers];
        _stuckSince = new long[workers];
        _previousOwner = new int[workers];
        Array.Fill(_previousOwner, -1);
    }

    public bool IsStuck(int w) => _stuck[w];

    /// <summary>Stuck because a batch job keeps the core (not a slice).</summary>
    public bool IsStuckInBatch(int w) => _stuckBatch[w];

    public int StuckOwner(int w) => _stuckOwner[w];

    public long StuckSince(int w) => _stuckSince[w];

    /// <summary>The app that owned the worker before its latest move.</summary>
    public int? PreviousOwner(int w) => _previousOwner[w];

    public void Moved(int w, int from) => _previousOwner[w] = from;

    public void SetStuck(int w, bool stuck, int owner, long since, bool batch)
    {
        _stuck[w] = stuck;
        _stuckBatch[w] = batch;
        _stuckOwner[w] = owner;
        _stuckSince[w] = since;
    }

    /// <summary>The request the worker runs now (the oldest it holds), or null.</summary>
    public GreenThread? Running(int w) => _count[w] == 0 ? null : _registry[_held[Slot(w, 0)]];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dispatched(int w, GreenThread t)
    {
        _held[Slot(w, _count[w])] = t.RingIndex;
        _count[w]++;
    }

    /// <summary>The oldest request at the worker came back (completed, yielded, detached or handed back).</summary>
    public void Retire(int w) => Retire(w, null);

    /// <summary>Where the worker's request <paramref name="nth"/> from the oldest is recorded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(int w, int nth)
    {
        // Head and nth are both below the depth: one subtraction wraps, where % costs a division
        // (three of them per request, on the IOKernel's path).
        int i = _head[w] + nth;
        return w * _depth + (i >= _depth ? i - _depth : i);
    }

    /// <summary>Request <paramref name="t"/> came back from the worker; null, or one not recorded: the
    /// oldest. Only a worker that keeps a yielded request (<see cref="Worker.HoldsYielded"/>) returns
    /// one that is not its oldest: the rest move up a place, in their order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Retire(int w, GreenThread? t)
    {
        if (_count[w] == 0)
        {
            return;
        }
        int at = 0;
        if (t is not null)
        {
            while (at < _count[w] && _held[Slot(w, at)] != t.RingIndex)
            {
                at++;
            }
            if (at == _count[w])
            {
                at = 0;
            }
        }
        for (int i = at; i > 0; i--)
        {
            _held[Slot(w, i)] = _held[Slot(w, i - 1)];
        }
        _held[Slot(w, 0)] = None;
        _head[w] = _head[w] + 1 == _depth ? 0 : _head[w] + 1;
        _count[w]--;
    }
}
