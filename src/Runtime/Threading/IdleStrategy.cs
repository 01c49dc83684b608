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
    private PaddedLong _idleSince;

    /// <param name="kind">The strategy.</param>
    /// <param name="spinMicros">How long to spin before yielding.</param>
    /// <param name="yieldMicros">How long to keep yielding before parking (SpinPark only).</param>
    /// <param name="parkMicros">How long one park lasts at most.</param>
    /// <param name="hasWork">When given, the thread can be woken by <see cref="WakeIfParked"/>, and
    /// this check runs after the thread announces it parks, so no wake-up is lost.</param>
    public IdleStrategy(IdleStrategyKind kind, double spinMicros = 50, double yieldMicros = 1000,
        double parkMicros = 100, Func<bool>? hasWork = null)
    {
        _kind = kind;
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
    public void Reset() => _idleSince.Value = 0;

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
        if (_idleSince.Value == 0)
        {
            _idleSince.Value = now;
            return false;
        }
        long idleFor = now - _idleSince.Value;
        if (idleFor < _spinTicks)
        {
            return false;
        }
        if (_kind == IdleStrategyKind.SpinYield || idleFor < _spinTicks + _yieldTicks)
        {
            Thread.Yield();
            return false;
        }
        Park();
        return true;
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
