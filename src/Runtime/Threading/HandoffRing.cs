// The mailbox and completion rings: one 8-byte word per slot, so a handoff is one store and one load of one cache line.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace NetStack.Runtime.Threading;

/// <summary>
/// A bounded single-producer single-consumer ring of green threads between the IOKernel and one
/// carrier. Each slot is one 64-bit word holding the slot's sequence (high half) and the green
/// thread's index in its <see cref="GreenThreadRegistry"/> and a tag byte (low half), after Vyukov's
/// bounded queue: the producer writes an item and its publication in one store, and the consumer
/// learns that a slot is full and what it holds in one load. The tag says what the consumer would
/// otherwise read from the green thread's own lines, which the producer last wrote: how its slice
/// ended, for a completion (<see cref="CompletionTag"/>), and whether the carrier's fields are still
/// the last request's, for a dispatch (<see cref="DispatchTag"/>). Neither side reads the other's index: the
/// words carry the whole protocol. A ring of up to eight slots sits on one cache line (the words
/// are in pinned memory aligned to a line), so up to eight handoffs in a row move one line between
/// the cores, where a ring with a separate tail moved two per handoff.
/// </summary>
/// <remarks>
/// A <em>counted</em> ring drops the half of the protocol that flows back: its producer knows from
/// its own count that the slot it writes is free (the IOKernel's JBSQ count for a mailbox, and, for
/// a completion ring, that a carrier pushes one completion per request it popped and holds at most
/// k), so <see cref="Push"/> reads nothing and the consumer writes nothing into the slots. Each
/// ring's line is then written by one core and read by the other: a handoff moves it once, where a
/// consumer's "free" mark made it come back to the producer before the next write. Debug builds
/// keep the marks and check the producer's claim against them.
/// </remarks>
internal sealed class HandoffRing
{
    private const int SlotsPerLine = CacheLine.Size / sizeof(long);

    private readonly long[] _words;
    private readonly int _first;
    private readonly uint _mask;
    private readonly uint _capacity;
    private readonly GreenThreadRegistry _registry;
    private readonly bool _counted;
    // Each side's own position, on its own line; the other side never reads it (Count aside).
    private PaddedLong _tail;
    private PaddedLong _head;

    /// <param name="capacity">Slots, rounded up to a power of two, and at least two: with one slot, "full
    /// at position p" and "free for position p + 1" would be the same word.</param>
    /// <param name="registry">Where the indexes in the slots point.</param>
    /// <param name="counted">The producer counts what the ring holds and pushes only into a free slot
    /// (<see cref="Push"/>, never <see cref="TryPush(GreenThread, byte)"/>).</param>
    public HandoffRing(int capacity, GreenThreadRegistry registry, bool counted = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = Math.Max(2u, BitOperations.RoundUpToPowerOf2((uint)capacity));
        _mask = _capacity - 1;
        _registry = registry;
        _counted = counted;
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
    public bool TryPush(GreenThread thread) => TryPush(thread, 0);

    /// <summary>Producer only: pushes <paramref name="thread"/> with <paramref name="tag"/>. False when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(GreenThread thread, byte tag)
    {
        Debug.Assert(!_counted, "a counted ring's consumer marks no slot free: push with Push");
        long tail = _tail.Value;
        ref long slot = ref _words[_first + (int)((uint)tail & _mask)];
        // Acquire: the consumer's read of what this slot held is done before we see it free.
        if (SequenceOf(Volatile.Read(ref slot)) != (uint)tail)
        {
            return false;
        }
        // Release: the green thread's fields, written before this store, are visible to the
        // consumer that reads the word. The word is the item and its publication at once.
        Volatile.Write(ref slot, Word((uint)tail + 1, thread.RingIndex, tag));
        Volatile.Write(ref _tail.Value, tail + 1); // our own line: for Count only
        return true;
    }

    /// <summary>
    /// Producer of a counted ring only: pushes <paramref name="thread"/> with <paramref name="tag"/>
    /// into the next slot, which the caller's count says is free (fewer than <see cref="Capacity"/>
    /// items pushed and not yet known to be popped). One store; nothing of the consumer's is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(GreenThread thread, byte tag)
    {
        Debug.Assert(_counted, "Push is for counted rings; others use TryPush");
        long tail = _tail.Value;
        ref long slot = ref _words[_first + (int)((uint)tail & _mask)];
        AssertFree(slot, tail);
        // Release: the green thread's fields, written before this store, are visible to the
        // consumer that reads the word. Whether the consumer's last read of this slot (a lap ago) is
        // done is known from the count: the caller saw its consequence (a completion, or the
        // dispatch that followed one) through an acquire of its own.
        Volatile.Write(ref slot, Word((uint)tail + 1, thread.RingIndex, tag));
        Volatile.Write(ref _tail.Value, tail + 1); // our own line: for Count only
    }

    [Conditional("DEBUG")]
    private void MarkFreeForDebugCheck(ref long slot, long head) => Volatile.Write(ref slot, Word((uint)head + _capacity, 0));

    [Conditional("DEBUG")]
    private void AssertFree(long word, long tail) =>
        Debug.Assert(SequenceOf(word) == (uint)tail, "a counted ring's producer pushed into a slot its consumer had not freed");

    /// <summary>Consumer only. False when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out GreenThread thread) => TryPop(out thread, out _);

    /// <summary>Consumer only: pops a green thread and the tag it was pushed with. False when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out GreenThread thread, out byte tag)
    {
        if (!TryPopIndex(out int index, out tag))
        {
            thread = null;
            return false;
        }
        thread = _registry[index];
        return true;
    }

    /// <summary>Consumer only: pops the registry index of a green thread (<see
    /// cref="GreenThreadRegistry.MarkerIndex"/> for the detached marker) and its tag. False when the
    /// ring is empty. For a consumer that keeps what it pops in a batch before it handles it: an index
    /// stored is a plain store, where a reference stored into an array is a GC write barrier.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopIndex(out int index, out byte tag)
    {
        long head = _head.Value;
        ref long slot = ref _words[_first + (int)((uint)head & _mask)];
        // Acquire: pairs with the producer's release, so the green thread's fields are visible.
        long word = Volatile.Read(ref slot);
        if (SequenceOf(word) != (uint)head + 1)
        {
            index = 0;
            tag = 0;
            return false;
        }
        index = IndexOf(word);
        tag = TagOf(word);
        if (!_counted)
        {
            // Release: our use of the slot is done before the producer may reuse it (a lap later).
            Volatile.Write(ref slot, Word((uint)head + _capacity, 0));
        }
        else
        {
            MarkFreeForDebugCheck(ref slot, head);
        }
        Volatile.Write(ref _head.Value, head + 1); // our own line: for Count only
        AssertInvariants();
        return true;
    }

    /// <summary>Consumer only: the green thread the next <see cref="TryPop(out GreenThread)"/> would take, left in the ring.</summary>
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
        thread = _registry[IndexOf(word)];
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
    private static long Word(uint sequence, int index, byte tag = 0) =>
        (long)(((ulong)sequence << 32) | ((ulong)tag << GreenThreadRegistry.IndexBits) | (uint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOf(long word) => (int)((uint)word & GreenThreadRegistry.MarkerIndex);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte TagOf(long word) => (byte)((uint)word >> GreenThreadRegistry.IndexBits);

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
        // The producer publishes a slot before its tail, so the consumer may have popped an item
        // whose tail it cannot see yet: one below zero is a count in flight, not a broken ring.
        long count = Volatile.Read(ref _tail.Value) - _head.Value;
        Debug.Assert(count >= -1 && count <= _capacity, "ring count out of range");
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
    /// <summary>Bits of a ring word that carry the index (the byte above them carries the tag).</summary>
    public const int IndexBits = 24;

    /// <summary>The index of <see cref="Marker"/>, which stands for a detached request in a completion
    /// ring: the largest index, so a registry holds one green thread fewer.</summary>
    public const int MarkerIndex = (1 << IndexBits) - 1;

    private readonly GreenThread?[] _threads;
    private int _count;

    /// <param name="capacity">Green threads at most.</param>
    public GreenThreadRegistry(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MarkerIndex);
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
