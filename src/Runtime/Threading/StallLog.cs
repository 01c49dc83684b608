// Machine stalls as the pinned threads see them: gaps in their own loops against the clock, logged per core.
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Threading;

/// <summary>Which loop saw a stall.</summary>
internal enum StallSource : byte
{
    /// <summary>The IOKernel's loop.</summary>
    IOKernel,
    /// <summary>A carrier's loop, between slices or idle.</summary>
    Carrier,
    /// <summary>A handler's own clock reads, inside a slice (the spin app reads the clock every ~20 ns).</summary>
    Handler,
    /// <summary>A load generator's sender or receiver loop (network runs: the server is another process).</summary>
    Generator,
}

/// <summary>One stall: a core that was not running its pinned thread for a while.</summary>
/// <param name="Core">The core (the thread's pinned core; -1 when unpinned).</param>
/// <param name="Source">Which loop saw it.</param>
/// <param name="StartTicks">When the thread last ran before it, in <see cref="Clock"/> ticks.</param>
/// <param name="LengthTicks">How long it lasted.</param>
internal readonly record struct Stall(int Core, StallSource Source, long StartTicks, long LengthTicks)
{
    /// <summary>When it ended.</summary>
    public long EndTicks => StartTicks + LengthTicks;
}

/// <summary>
/// The stalls of one run. A shared VM takes its cores away for microseconds to milliseconds many
/// times a second (PLATFORM.md), and the guest is not told: a pinned thread can only notice that the
/// clock jumped between two of its own reads. Each pinned thread keeps a <see cref="StallWatch"/> and
/// calls <see cref="StallWatch.Observe"/> with the clock reads its loop already makes; a gap above
/// the threshold is written to that thread's own ring, so recording costs a compare and nothing is
/// shared while the run lasts. The rings are merged when the log is read, after the threads stopped.
/// </summary>
internal sealed class StallLog
{
    private readonly List<StallWatch> _watches = [];
    private readonly Lock _lock = new();

    /// <param name="thresholdMicros">Gaps longer than this are stalls.</param>
    /// <param name="capacityPerThread">Stalls kept per thread (the oldest are kept; later ones are counted only).</param>
    public StallLog(double thresholdMicros = DefaultThresholdMicros, int capacityPerThread = 1 << 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(thresholdMicros);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityPerThread);
        ThresholdTicks = Clock.FromMicros(thresholdMicros);
        ThresholdMicros = thresholdMicros;
        CapacityPerThread = capacityPerThread;
    }

    /// <summary>20 µs: twice the mean service time of exp-10, far above a loop turn (~0.1–1 µs) or a
    /// cross-core transfer, and below the gaps that dominate this VM's tails (PLATFORM.md: ~1250/s over
    /// 10 µs, 15–45/s over 100 µs, a few per second over 1 ms).</summary>
    public const double DefaultThresholdMicros = 20;

    /// <summary>Gaps above this are stalls, in ticks.</summary>
    public long ThresholdTicks { get; }

    /// <summary>The same, in µs.</summary>
    public double ThresholdMicros { get; }

    /// <summary>Stalls kept per thread.</summary>
    public int CapacityPerThread { get; }

    /// <summary>A watch for one thread (made before the thread starts; used by it alone).</summary>
    public StallWatch Watch(int core, StallSource source)
    {
        var watch = new StallWatch(this, core, source);
        lock (_lock)
        {
            _watches.Add(watch);
        }
        return watch;
    }

    /// <summary>Every stall seen, by start time (read after the threads stopped).</summary>
    public IReadOnlyList<Stall> Snapshot()
    {
        var all = new List<Stall>();
        lock (_lock)
        {
            foreach (StallWatch w in _watches)
            {
                all.AddRange(w.Recorded);
            }
        }
        all.Sort((a, b) => a.StartTicks.CompareTo(b.StartTicks));
        return all;
    }

    /// <summary>Stalls seen but not kept because a ring was full.</summary>
    public long Overflowed
    {
        get
        {
            lock (_lock)
            {
                return _watches.Sum(w => w.Overflowed);
            }
        }
    }
}

/// <summary>
/// One thread's stall detector: the last clock read it was given, and its ring of stalls. Not
/// thread-safe by design: only its thread calls it. A handler's clock reads reach the running
/// carrier's watch through <see cref="Current"/>.
/// </summary>
internal sealed class StallWatch
{
    [ThreadStatic]
    private static StallWatch? t_current;

    private readonly Stall[] _ring;
    private readonly long _threshold;
    private readonly int _core;
    private readonly StallSource _source;
    private long _last;
    private int _count;

    internal StallWatch(StallLog log, int core, StallSource source)
    {
        _ring = new Stall[log.CapacityPerThread];
        _threshold = log.ThresholdTicks;
        _core = core;
        _source = source;
    }

    /// <summary>The watch of the thread calling (null on threads without one).</summary>
    public static StallWatch? Current => t_current;

    /// <summary>Stalls seen but not kept.</summary>
    public long Overflowed { get; private set; }

    internal IEnumerable<Stall> Recorded => _ring.Take(_count);

    /// <summary>Makes this the calling thread's watch (its first call, on the thread itself).</summary>
    public void Install(long now)
    {
        t_current = this;
        _last = now;
    }

    /// <summary>A clock read of the loop: a gap since the last one above the threshold is a stall.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Observe(long now)
    {
        long gap = now - _last;
        _last = now;
        if (gap > _threshold)
        {
            Record(now - gap, gap, _source);
        }
    }

    /// <summary>A handler's clock read, inside a slice, on the carrier's watch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ObserveInHandler(long now)
    {
        StallWatch? w = t_current;
        if (w is not null)
        {
            long gap = now - w._last;
            w._last = now;
            if (gap > w._threshold)
            {
                w.Record(now - gap, gap, StallSource.Handler);
            }
        }
    }

    /// <summary>The loop paused on purpose (it parked, ran a slice, slept): the time since the last
    /// read is not a stall. Starts the next gap from <paramref name="now"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Restart(long now) => _last = now;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Record(long start, long length, StallSource source)
    {
        if (_count == _ring.Length)
        {
            Overflowed++;
            return;
        }
        _ring[_count++] = new Stall(_core, source, start, length);
    }
}
