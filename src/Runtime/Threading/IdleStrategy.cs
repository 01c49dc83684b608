// What a polling thread does when a poll finds nothing: spin, then yield, then park.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.Runtime.Threading;

/// <summary>How a polling thread backs off when it finds no work.</summary>
public enum IdleStrategyKind
{
    /// <summary>Never give the core up: the lowest latency, and nothing else runs on that core.</summary>
    Spin,

    /// <summary>Spin for a while, then <c>sched_yield</c> on every idle poll: other threads on the
    /// core get to run, and a poll still follows within microseconds when none wants to.</summary>
    SpinYield,

    /// <summary>Spin, yield, then sleep (or wait for a wake-up) for a short while. Waking a parked
    /// thread costs ~20 µs on small VMs (PLATFORM.md), so only cores that may be slow to react park.</summary>
    SpinPark,
}

/// <summary>
/// The back-off of one polling thread. The thread calls <see cref="Idle"/> after each poll that
/// found nothing and <see cref="Reset"/> after each poll that found work. A thread that parks can
/// be woken early by a producer through <see cref="WakeIfParked"/>.
/// </summary>
internal sealed unsafe partial class IdleStrategy
{
    // Read by producers (WakeIfParked), never written after construction.
    private readonly IdleStrategyKind _kind;
    private readonly long _spinTicks;
    private readonly long _yieldTicks;
    private readonly int _parkMicros;
    private readonly Func<bool>? _hasWork;
    /// <summary>The parked word, on a cache line of its own in memory the GC does not move (futex
    /// needs a fixed address): 1 while the thread sleeps or is about to.</summary>
    private readonly int[]? _parkedWord;
    private readonly int* _parked;
    // Written by the owning thread on every poll: a line of its own, away from what producers read.
    private OwnerLine _own;

    /// <param name="kind">The strategy.</param>
    /// <param name="spinMicros">How long to spin before yielding.</param>
    /// <param name="yieldMicros">How long to keep yielding before parking (SpinPark only).</param>
    /// <param name="parkMicros">How long one park lasts at most.</param>
    /// <param name="hasWork">When given, the thread can be woken by <see cref="WakeIfParked"/>, and
    /// this check runs after the thread announces it parks, so no wake-up is lost.</param>
    /// <param name="busyYieldMicros">The longest a busy thread holds its core without offering it
    /// (<see cref="Worked"/>); 0: a busy thread never yields. Spin ignores it.</param>
    public IdleStrategy(IdleStrategyKind kind, double spinMicros = 50, double yieldMicros = 1000,
        double parkMicros = 100, Func<bool>? hasWork = null, double busyYieldMicros = 0)
    {
        _kind = kind;
        _own.Busy = new BusyYield(kind == IdleStrategyKind.Spin ? 0 : busyYieldMicros);
        _spinTicks = Clock.FromMicros(spinMicros);
        _yieldTicks = Clock.FromMicros(yieldMicros);
        _parkMicros = Math.Max(1, (int)parkMicros);
        _hasWork = hasWork;
        if (hasWork is not null && kind == IdleStrategyKind.SpinPark)
        {
            // 32 ints = two cache lines, pinned: the word sits at the start of the second.
            _parkedWord = GC.AllocateArray<int>(2 * CacheLine.Size / sizeof(int), pinned: true);
            _parked = (int*)Unsafe.AsPointer(ref _parkedWord[CacheLine.Size / sizeof(int)]);
        }
    }

    /// <summary>The strategy.</summary>
    public IdleStrategyKind Kind => _kind;

    /// <summary>The poll found work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Reset() => _own.IdleSince = 0;

    /// <summary>
    /// The poll found work, at <paramref name="now"/>; and a thread that has not given its core up
    /// (a yield or a park) for the busy bound yields once. A thread that shares its core with
    /// another that is runnable (an IOKernel and a load generator on one core of two) otherwise
    /// keeps it for as long as it finds work: the kernel takes it back only at a scheduler tick
    /// (4 ms at HZ = 250, without kernel preemption), and the other waits that long. The yield
    /// returns in well under a microsecond when nothing else wants the core.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Worked(long now)
    {
        _own.IdleSince = 0;
        _own.Busy.Running(now);
    }

    /// <summary>Yields <see cref="Worked"/> made (the owning thread's count; a snapshot from others).</summary>
    public long BusyYields => _own.Busy.Yields;

    /// <summary>When the thread last offered its core (a yield, busy or idle, or a park), in ticks; 0 before the first.</summary>
    public long GaveUpTicks => _own.Busy.GaveUpTicks;

    /// <summary>The poll found nothing. Returns true when the thread parked or slept on purpose (its
    /// stall watch must not count that pause as the machine's); a yield is not on purpose: it returns
    /// at once unless the OS had something else to run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Idle()
    {
        if (_kind == IdleStrategyKind.Spin)
        {
            return false;
        }
        return IdleSlow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool IdleSlow()
    {
        long now = Clock.Now();
        if (_own.IdleSince == 0)
        {
            _own.IdleSince = now;
            return false;
        }
        long idleFor = now - _own.IdleSince;
        if (idleFor < _spinTicks)
        {
            return false;
        }
        _own.Busy.GaveUp(now);
        if (_kind == IdleStrategyKind.SpinYield || idleFor < _spinTicks + _yieldTicks)
        {
            Thread.Yield();
            return false;
        }
        Park();
        return true;
    }

    /// <summary>The owning thread's words, on a line of their own (64 bytes into a 128-byte cell).</summary>
    [StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
    private struct OwnerLine
    {
        /// <summary>When the current idle period began; 0 while the thread works.</summary>
        [FieldOffset(CacheLine.Size)] public long IdleSince;
        /// <summary>When the thread last offered its core, and how often it did so because it was busy.</summary>
        [FieldOffset(CacheLine.Size + sizeof(long))] public BusyYield Busy;
    }

    private void Park()
    {
        if (_parked is null || !NativeFutex.Available)
        {
            if (_parked is null || _hasWork!() == false)
            {
                Sleep(_parkMicros);
            }
            return;
        }
        // Full fence: the store of the flag must be visible before we re-check for work, or a
        // producer that pushed just now could read "not parked" while we read "no work" (Dekker).
        Interlocked.Exchange(ref *_parked, 1);
        if (!_hasWork!())
        {
            // Sleeps only while the word is still 1: a producer that cleared it first wakes nobody
            // and we do not sleep at all.
            NativeFutex.Wait(_parked, 1, ParkTimeoutNs);
        }
        Volatile.Write(ref *_parked, 0);
    }

    /// <summary>One park's timeout as futex is given it, in ns (microsecond parks stay microsecond parks).</summary>
    internal long ParkTimeoutNs => _parkMicros * 1000L;

    /// <summary>Producer side, after making work visible: wakes the thread if it parked.</summary>
    public void WakeIfParked()
    {
        if (_parked is null)
        {
            return;
        }
        // Full fence: our publication of the work is ordered before the read of the flag (Dekker).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref *_parked) != 0 && Interlocked.Exchange(ref *_parked, 0) != 0 && NativeFutex.Available)
        {
            NativeFutex.Wake(_parked);
        }
    }

    private static void Sleep(int micros)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = USleep((uint)micros);
        }
        else
        {
            Thread.Sleep(Math.Max(1, micros / 1000));
        }
    }

    [LibraryImport("libc", EntryPoint = "usleep")]
    private static partial int USleep(uint micros);
}
