// The mailbox and completion rings: one 8-byte word per slot, so a handoff is one store and one load of one cache line.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace NetStack.Runtime.Threading;

/// <summary>
/// A bounded single-producer single-consumer ring of green threads between the IOKernel and one
/// carrier. Each slot is one 64-bit word holding the slot's sequence (high half) and the green
/// thread's index in its <see cref="GreenThreadRegistry"/> (low half), after Vyukov's bounded
/// queue: the producer writes an item and its publication in one store, and the consumer learns
/// that a slot is full and what it holds in one load. Neither side reads the other's index: the
/// words carry the whole protocol. A ring of up to eight slots sits on one cache line (the words
/// are in pinned memory aligned to a line), so up to eight handoffs in a row move one line between
/// the cores, where a ring with a separate tail moved two per handoff.
/// </summary>
internal sealed class HandoffRing
{
    private const int SlotsPerLine = CacheLine.Size / sizeof(long);

    private readonly long[] _words;
    private readonly int _first;
    private readonly uint _mask;
    private readonly uint _capacity;
    private readonly GreenThreadRegistry _registry;
    // Each side's own position, on its own line; the other side never reads it (Count aside).
    private PaddedLong _tail;
    private PaddedLong _head;

    /// <param name="capacity">Slots, rounded up to a power of two, and at least two: with one slot, "full
    /// at position p" and "free for position p + 1" would be the same word.</param>
    /// <param name="registry">Where the indexes in the slots point.</param>
    public HandoffRing(int capacity, GreenThreadRegistry registry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = Math.Max(2u, BitOperations.RoundUpToPowerOf2((uint)capacity));
        _mask = _capacity - 1;
        _registry = registry;
        // Pinned, so the first slot can be put at the start of a cache line and stay there.
        _words = GC.AllocateArray<long>((int)_capacity + SlotsPerLine, pinned: true);
        _first = FirstAligned(_words);
        for (uint i = 0; i < _capacity; i++)
        {
            _words[_first + i] = Word(i, 0); // slot i is free for the producer's position i
        }
    }

    /// <summary>Slots in the ring.</summary>
    public int Capacity => (int)_capacity;

    /// <summary>Items in the ring (a snapshot from any thread; exact on either side).</summary>
    public int Count => (int)(Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value));

    /// <summary>Producer only. False when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(GreenThread thread)
    {
        long tail = _tail.Value;
        ref long slot = ref _words[_first + (int)((uint)tail & _mask)];
        // Acquire: the consumer's read of what this slot held is done before we see it free.
        if (SequenceOf(Volatile.Read(ref slot)) != (uint)tail)
        {
            return false;
        }
        // Release: the green thread's fields, written before this store, are visible to the
        // consumer that reads the word. The word is the item and its publication at once.
        Volatile.Write(ref slot, Word((uint)tail + 1, thread.RingIndex));
        Volatile.Write(ref _tail.Value, tail + 1); // our own line: for Count only
        return true;
    }

    /// <summary>Consumer only. False when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out GreenThread thread)
    {
        long head = _head.Value;
        ref long slot = ref _words[_first + (int)((uint)head & _mask)];
        // Acquire: pairs with the producer's release, so the green thread's fields are visible.
        long word = Volatile.Read(ref slot);
        if (SequenceOf(word) != (uint)head + 1)
        {
            thread = null;
            return false;
        }
        thread = _registry[(int)word];
        // Release: our use of the slot is done before the producer may reuse it (a lap later).
        Volatile.Write(ref slot, Word((uint)head + _capacity, 0));
        Volatile.Write(ref _head.Value, head + 1); // our own line: for Count only
        AssertInvariants();
        return true;
    }

    /// <summary>Consumer only: the green thread the next <see cref="TryPop"/> would take, left in the ring.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeek([MaybeNullWhen(false)] out GreenThread thread)
    {
        long head = _head.Value;
        long word = Volatile.Read(ref _words[_first + (int)((uint)head & _mask)]); // acquire, as in TryPop
        if (SequenceOf(word) != (uint)head + 1)
        {
            thread = null;
            return false;
        }
        thread = _registry[(int)word];
        return true;
    }

    /// <summary>Consumer only: true when nothing waits.</summary>
    public bool IsEmptyForConsumer()
    {
        long head = _head.Value;
        return SequenceOf(Volatile.Read(ref _words[_first + (int)((uint)head & _mask)])) != (uint)head + 1; // acquire, as in TryPop
    }

    /// <summary>For the layout test: the byte offset of the first slot within its cache line (0).</summary>
    internal unsafe int FirstSlotLineOffset() => (int)((nint)Unsafe.AsPointer(ref _words[_first]) & (CacheLine.Size - 1));

    /// <summary>For the layout test: the distance in bytes between the two sides' positions.</summary>
    internal long DistanceTailToHead() => Math.Abs(Unsafe.ByteOffset(ref _tail.Value, ref _head.Value).ToInt64());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Word(uint sequence, int index) => (long)(((ulong)sequence << 32) | (uint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint SequenceOf(long word) => (uint)((ulong)word >> 32);

    private static unsafe int FirstAligned(long[] words)
    {
        nint address = (nint)Unsafe.AsPointer(ref words[0]);
        int offset = (int)(address & (CacheLine.Size - 1));
        return offset == 0 ? 0 : (CacheLine.Size - offset) / sizeof(long);
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        long count = Volatile.Read(ref _tail.Value) - _head.Value;
        Debug.Assert(count >= 0 && count <= _capacity, "ring count out of range");
    }
}

/// <summary>
/// Every green thread a kernel may hand through a ring, by index: the rings carry 32-bit indexes,
/// not references. An entry is written once, when its green thread is made, before any ring can
/// carry its index (the ring's release store orders it), and never changes, so a carrier's lookup
/// reads a line no one writes.
/// </summary>
internal sealed class GreenThreadRegistry
{
    /// <summary>The index of <see cref="Marker"/>, which stands for a detached request in a completion ring.</summary>
    public const int MarkerIndex = int.MaxValue;

    private readonly GreenThread?[] _threads;
    private int _count;

    /// <param name="capacity">Green threads at most.</param>
    public GreenThreadRegistry(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _threads = new GreenThread?[capacity];
    }

    /// <summary>Pushed in place of a detached request, so the IOKernel frees the worker's slot while the
    /// request itself completes later through its detached path.</summary>
    public static GreenThread Marker { get; } = new() { RingIndex = MarkerIndex };

    /// <summary>Green threads registered.</summary>
    public int Count => _count;

    /// <summary>Gives <paramref name="thread"/> the next index (on the thread that makes green threads, before any handoff).</summary>
    public void Register(GreenThread thread)
    {
        if (_count == _threads.Length)
        {
            throw new InvalidOperationException($"the registry holds {_threads.Length} green threads at most");
        }
        thread.RingIndex = _count;
        _threads[_count++] = thread;
    }

    /// <summary>The green thread of index <paramref name="index"/>.</summary>
    public GreenThread this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => index == MarkerIndex ? Marker : _threads[index]!;
    }
}
